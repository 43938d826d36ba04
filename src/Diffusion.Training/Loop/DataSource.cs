using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;

namespace Diffusion.Training.Loop;

/// <summary>A batch of training data (N, …) and, for labelled sets, its class labels (N) int64.</summary>
public sealed record DataBatch(Tensor X, Tensor? Labels);

/// <summary>
/// Where training batches come from. All randomness is drawn from the generator passed in, so the sampler's whole
/// state is that generator's state (checkpointed as <c>state.json</c>'s data generator).
/// </summary>
public interface IDataSource : IDisposable
{
    string Name { get; }

    /// <summary>Per-sample shape, e.g. [2] or [1, 28, 28].</summary>
    long[] SampleShape { get; }

    /// <summary>Number of classes for labelled sets (the null class for guidance is this value), else null.</summary>
    int? NumClasses { get; }

    DataBatch Next(int batch, Generator generator);
}

/// <summary>A synthetic distribution sampled fresh for every batch (infinite data): the 2-D toy sets and 3-D phantoms.</summary>
public sealed class GeneratedDataSource(string name, long[] sampleShape, Func<int, Generator, Tensor> sample) : IDataSource
{
    public string Name => name;
    public long[] SampleShape => sampleShape;
    public int? NumClasses => null;
    public DataBatch Next(int batch, Generator generator) => new(sample(batch, generator), null);
    public void Dispose() { }
}

/// <summary>An in-memory data set sampled uniformly with replacement.</summary>
public sealed class TensorDataSource(string name, Tensor data, Tensor? labels, int? numClasses) : IDataSource
{
    public string Name => name;
    public long[] SampleShape => data.shape[1..];
    public int? NumClasses => numClasses;

    public DataBatch Next(int batch, Generator generator)
    {
        var index = torch.randint(0, data.shape[0], [batch], generator);               // (B)
        return new(data.index_select(0, index), labels?.index_select(0, index));
    }

    public void Dispose()
    {
        data.Dispose();
        labels?.Dispose();
    }
}

public static class DataSources
{
    public static readonly string[] Toy = ["moons", "swissroll", "8gaussians", "checkerboard", "circles"];

    /// <summary>Edge of the <c>phantom3d</c> volumes: the 3-D U-Net presets take 32³.</summary>
    public const int PhantomSize = 32;

    /// <summary>
    /// A toy set by name, <c>phantom3d</c> (1×32³ volumes), <c>fashion-mnist</c> (FashionMnist's default directory), a directory holding the
    /// Fashion-MNIST files, or a .safetensors file with a tensor <c>data</c> (N, …) and optionally <c>labels</c> (N).
    /// </summary>
    public static IDataSource Resolve(string nameOrPath)
    {
        if (Toy.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase))
        {
            var name = nameOrPath.ToLowerInvariant();
            return new GeneratedDataSource(name, [2], (n, g) => ToyDatasets.Sample(name, n, g));
        }
        if (nameOrPath.Equals("phantom3d", StringComparison.OrdinalIgnoreCase))
            return new GeneratedDataSource("phantom3d", [1, PhantomSize, PhantomSize, PhantomSize], (n, g) => Phantom3d.Sample(n, PhantomSize, g));
        if (nameOrPath.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase) || Directory.Exists(nameOrPath))
        {
            var (images, labels) = FashionMnist.Load(Directory.Exists(nameOrPath) ? nameOrPath : null);
            return new TensorDataSource("fashion-mnist", images.DetachFromDisposeScope(), labels.@long().DetachFromDisposeScope(), 10);
        }
        if (File.Exists(nameOrPath) && nameOrPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var tensors = Safetensors.Load(nameOrPath);
            if (!tensors.TryGetValue("data", out var data))
                throw new ArgumentException($"{nameOrPath}: no tensor named 'data' (found {string.Join(", ", tensors.Keys)})");
            tensors.TryGetValue("labels", out var labels);
            int? classes = labels is null ? null : (int)labels.max().item<long>() + 1;
            return new TensorDataSource(Path.GetFileNameWithoutExtension(nameOrPath), data.@float().DetachFromDisposeScope(), labels?.@long().DetachFromDisposeScope(), classes);
        }
        throw new ArgumentException($"unknown data set '{nameOrPath}'; known: {string.Join(", ", Toy)}, fashion-mnist, a Fashion-MNIST directory or a .safetensors file");
    }
}
