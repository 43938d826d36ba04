using Diffusion.Torch.Serialization;
using Xunit;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>Save writes a temporary file beside the target and moves it over the target.</summary>
public class SafetensorsSaveTests
{
    [Fact]
    public void Saving_over_an_existing_file_replaces_it_and_leaves_no_temporary_files()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var path = dir.File("model.safetensors");
        File.WriteAllText(path, "an older, longer file that is not safetensors at all ..........");

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.full([2, 2], 3.0) });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["v"] = torch.ones(3) }, new Dictionary<string, string> { ["step"] = "2" });

        Assert.Equal(["model.safetensors"], dir.Entries());
        var loaded = Safetensors.LoadWithMetadata(path);
        Assert.Equal(["v"], loaded.Tensors.Keys);
        Assert.Equal("2", loaded.Metadata["step"]);
        Assert.Equal(Safetensors.Serialize(loaded.Tensors, loaded.Metadata), File.ReadAllBytes(path));
    }

    [Fact]
    public void A_failed_save_keeps_the_old_file_and_leaves_no_temporary_files()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var path = dir.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones(2) });
        var old = File.ReadAllBytes(path);
        var disposed = torch.ones(2);
        disposed.Dispose();

        Assert.Throws<ObjectDisposedException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = disposed }));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = torch.ones(1) }));

        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], dir.Entries());
    }

    [Fact]
    public void Saving_into_a_missing_directory_fails_and_creates_nothing()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();

        Assert.Throws<DirectoryNotFoundException>(() =>
            Safetensors.Save(dir.File("missing/model.safetensors"), new Dictionary<string, Tensor> { ["w"] = torch.ones(2) }));

        Assert.Empty(dir.Entries());
    }

    [Fact]
    public void Saved_file_equals_the_serialized_bytes()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var tensors = new Dictionary<string, Tensor> { ["a"] = torch.arange(10).reshape(2, 5), ["b"] = torch.eye(3) };
        var path = dir.File("x.safetensors");

        Safetensors.Save(path, tensors);

        Assert.Equal(Safetensors.Serialize(tensors), File.ReadAllBytes(path));
    }
}
