using Diffusion.Tests;
using Diffusion.Torch.Serialization;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.SafetensorsTestFiles;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>Checkpoints written by torch.save (Fixtures/make_torch_checkpoints.py) load bit for bit.</summary>
public class TorchCheckpointLoadTests(TorchCheckpointFiles files) : IClassFixture<TorchCheckpointFiles>
{
    [PythonTorchTheory]
    [InlineData("flat")]
    [InlineData("flat_p4")]
    public void Every_dtype_and_every_kind_of_view_loads_bit_for_bit(string name)
    {
        using var scope = torch.NewDisposeScope();
        var loaded = TorchCheckpoint.Load(files.File(name + ".pt"));
        AssertEqual(files.Expected(name), loaded);
        Assert.Contains("view.transposed", loaded.Keys);
        Assert.Contains("shared.middle", loaded.Keys);
        Assert.Empty(loaded["scalar.f64"].shape);
        Assert.Equal([0L, 4L], loaded["empty.f32"].shape);
    }

    [PythonTorchFact]
    public void The_tensors_come_back_in_the_checkpoints_order()
    {
        using var scope = torch.NewDisposeScope();
        var loaded = TorchCheckpoint.Load(files.File("flat.pt"));
        Assert.Equal(files.Expected("flat").Keys, loaded.Keys);
    }

    [PythonTorchFact]
    public void A_nested_checkpoint_loads_the_dict_at_the_key_and_at_a_dotted_path()
    {
        using var scope = torch.NewDisposeScope();
        AssertEqual(files.Expected("nested"), TorchCheckpoint.Load(files.File("nested.pt"), "ema"));
        AssertEqual(files.Expected("nested"), TorchCheckpoint.Load(files.File("nested.pt"), "train.ema"));
        Assert.Equal(files.Expected("nested").Keys, TorchCheckpoint.Load(files.File("nested.pt"), "model").Keys);
    }

    [PythonTorchFact]
    public void A_dict_of_dicts_without_a_key_is_refused_listing_the_keys_and_the_tensor_dictionaries()
    {
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(files.File("nested.pt")));
        Assert.Contains("pass a key", e.Message);
        foreach (var key in new[] { "model (dict of 11 tensors)", "ema (dict of 11 tensors)", "opt (dict of 2)", "args (dict of 6)", "step (int 1200)", "tensor dictionaries in this file: 'model' (11 tensors), 'ema' (11 tensors)" })
            Assert.Contains(key, e.Message);
    }

    [PythonTorchTheory]
    [InlineData("opt", "opt.state", "the value is dict of 2, not a tensor")]
    [InlineData("args", "args.model", "the value is str 'DiT-S/8', not a tensor")]
    [InlineData("ema.proj", "ema", "'proj' is not a key here; the keys are proj.weight (float32 tensor [4, 3]), proj.bias")]
    [InlineData("step", "step", "selects int 1200, not a dict of tensors")]
    [InlineData("args.lr.x", "args.lr", "this is float 0.0001, not a dict")]
    public void A_key_that_selects_no_tensor_dictionary_is_refused_naming_the_entry(string key, string? entry, string rule)
    {
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(files.File("nested.pt"), key));
        Assert.Equal(entry, e.Entry);
        Assert.Contains(rule, e.Message);
    }

    [PythonTorchFact]
    public void Read_gives_the_object_tree_with_scalars_and_tensor_descriptions_without_loading_data()
    {
        var root = Assert.IsType<CheckpointDict>(TorchCheckpoint.Read(files.File("nested.pt")));
        Assert.Equal(["model", "ema", "opt", "args", "step", "train"], root.Keys);
        Assert.Equal(1200, (int)Assert.IsType<CheckpointInt>(root["step"]).Value);
        var args = Assert.IsType<CheckpointDict>(root["args"]);
        Assert.Equal("DiT-S/8", Assert.IsType<CheckpointString>(args["model"]).Value);
        Assert.Equal(1e-4, Assert.IsType<CheckpointFloat>(args["lr"]).Value);
        Assert.IsType<CheckpointNone>(args["cfg"]);
        Assert.Equal(["a", "b"], Assert.IsType<CheckpointList>(args["tags"]).Select(v => ((CheckpointString)v).Value));
        Assert.Equal(0.999, ((CheckpointFloat)Assert.IsType<CheckpointTuple>(args["betas"])[1]).Value);

        var ema = Assert.IsType<CheckpointDict>(root["ema"]);
        Assert.True(ema.IsOrderedDict);
        Assert.NotNull(ema.Attributes?["_metadata"]);   // state_dict()'s module versions, pickled with BUILD
        var weight = Assert.IsType<CheckpointTensor>(ema["proj.weight"]);
        Assert.Equal(ScalarType.Float32, weight.DType);
        Assert.Equal([4L, 3L], weight.Shape);
        Assert.Equal([3L, 1L], weight.Stride);
        Assert.Equal(ScalarType.Int64, Assert.IsType<CheckpointTensor>(ema["norm.num_batches_tracked"]).DType);
        // The optimizer's state is keyed by int parameter index.
        var state = Assert.IsType<CheckpointDict>(Assert.IsType<CheckpointDict>(root["opt"])["state"]);
        Assert.IsType<CheckpointInt>(state[0].Key);
    }

    [PythonTorchFact]
    public void Read_describes_views_and_parameters_as_pytorch_saved_them()
    {
        var root = Assert.IsType<CheckpointDict>(TorchCheckpoint.Read(files.File("flat.pt")));
        var sliced = Assert.IsType<CheckpointTensor>(root["view.sliced"]);
        Assert.Equal([4L, 3L], sliced.Shape);
        Assert.Equal([8L, 3L], sliced.Stride);
        Assert.Equal(9L, sliced.StorageOffset);
        var whole = Assert.IsType<CheckpointTensor>(root["shared.whole"]);
        var middle = Assert.IsType<CheckpointTensor>(root["shared.middle"]);
        Assert.Equal(whole.StorageKey, middle.StorageKey);
        Assert.Equal(4, middle.StorageOffset);
        Assert.True(Assert.IsType<CheckpointTensor>(root["param"]).IsParameter);
        Assert.True(Assert.IsType<CheckpointTensor>(root["param"]).RequiresGrad);
        Assert.Equal("cpu", whole.Location);
    }

    [PythonTorchFact]
    public void Loaded_tensors_belong_to_the_current_dispose_scope_or_to_the_caller()
    {
        Dictionary<string, Tensor> inScope;
        using (torch.NewDisposeScope())
            inScope = TorchCheckpoint.Load(files.File("nested.pt"), "ema");
        Assert.All(inScope.Values, t => Assert.True(t.IsDisposed));

        var owned = TorchCheckpoint.Load(files.File("nested.pt"), "ema");
        Assert.All(owned.Values, t => Assert.False(t.IsDisposed));
        foreach (var t in owned.Values) t.Dispose();
    }

    private static void AssertEqual(Dictionary<string, (string DType, long[] Shape, string Hex)> expected, Dictionary<string, Tensor> loaded)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), loaded.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (dtype, shape, hex)) in expected)
        {
            var t = loaded[name];
            Assert.True(dtype == t.dtype.Name(), $"{name}: dtype {t.dtype.Name()}, PyTorch saved {dtype}");
            Assert.True(shape.SequenceEqual(t.shape), $"{name}: shape [{string.Join(", ", t.shape)}], PyTorch saved [{string.Join(", ", shape)}]");
            Assert.True(hex == Convert.ToHexStringLower(Bytes(t)), $"{name}: bytes {Convert.ToHexStringLower(Bytes(t))}, PyTorch saved {hex}");
        }
    }
}
