using Diffusion.Torch.Serialization;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.SafetensorsTestFiles;

namespace Diffusion.Torch.Tests.Serialization;

public class SafetensorsRoundTripTests
{
    public static TheoryData<ScalarType> AllDTypes => new()
    {
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.UInt8, ScalarType.Bool,
    };

    private static readonly long[][] Shapes = [[2, 3, 4], [], [0], [3, 0, 2], [5]];

    /// <summary>Distinct values in every dtype: -7.5 … 15 in steps of 1.5, converted (bool: non-zero).</summary>
    private static Tensor Sample(ScalarType dtype, long[] shape)
    {
        var n = shape.Aggregate(1L, (a, d) => a * d);
        using var values = torch.arange(0, n, 1, ScalarType.Float64) * 1.5 - 7.5;
        using var shaped = values.reshape(shape);
        return shaped.to(dtype);
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void Every_dtype_and_shape_round_trips_bitwise_in_memory(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Shapes.Select((s, k) => (Name: $"t{k}", Tensor: Sample(dtype, s))).ToDictionary(e => e.Name, e => e.Tensor);

        var loaded = Safetensors.Deserialize(Safetensors.Serialize(tensors));

        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(dtype, loaded[name].dtype);
            Assert.Equal(t.shape, loaded[name].shape);
            Assert.Equal(Bytes(t), Bytes(loaded[name]));
            Assert.True(t.equal(loaded[name]), name);
        }
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void Every_dtype_round_trips_through_a_file(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var t = Sample(dtype, [3, 4]);
        var path = dir.File("one.safetensors");

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = t });
        var loaded = Safetensors.Load(path);

        Assert.Equal(dtype, loaded["x"].dtype);
        Assert.Equal(Bytes(t), Bytes(loaded["x"]));
    }

    [Fact]
    public void Special_float_values_keep_their_bits()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = torch.tensor([float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon]),
            ["f64"] = torch.tensor([double.NaN, double.NegativeInfinity, -0d, double.Epsilon]),
            ["f16"] = torch.tensor([Half.NaN, Half.NegativeInfinity, Half.Epsilon, (Half)(-0f)]),
            ["bf16"] = torch.tensor([new BFloat16(0x7FC1), new BFloat16(0xFF80), new BFloat16(0x8000), new BFloat16(0x0001)]),
        };

        var loaded = Safetensors.Deserialize(Safetensors.Serialize(tensors));

        foreach (var (name, t) in tensors) Assert.Equal(Bytes(t), Bytes(loaded[name]));
    }

    [Fact]
    public void Metadata_round_trips_and_can_be_read_alone()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["quote\"and\\slash"] = "ünïcødé ✓\n", ["empty"] = "" };
        var path = dir.File("meta.safetensors");

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones(2) }, metadata);

        Assert.Equal(metadata, Safetensors.LoadMetadata(path));
        using var file = Safetensors.LoadWithMetadata(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(new[] { 1f, 1f }, file.Tensors["w"].ToArray<float>());
        Assert.Equal(metadata, Safetensors.DeserializeWithMetadata(Safetensors.Serialize(file.Tensors, metadata)).Metadata);
    }

    [Fact]
    public void No_tensors_and_no_metadata_is_a_valid_file()
    {
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor>());

        Assert.Equal(16, bytes.Length); // prefix + "{}" padded to 8
        Assert.Empty(Safetensors.Deserialize(bytes));
        Assert.Empty(Safetensors.ReadHeader(bytes).Metadata);
    }

    [Fact]
    public void Layout_is_sorted_by_name_contiguous_padded_and_deterministic()
    {
        using var scope = torch.NewDisposeScope();
        var a = new Dictionary<string, Tensor> { ["b"] = torch.ones(3), ["a"] = torch.zeros(2, 2), ["c"] = torch.scalar_tensor(7L, ScalarType.Int64) };
        var b = new Dictionary<string, Tensor> { ["c"] = a["c"], ["a"] = a["a"], ["b"] = a["b"] };

        var bytes = Safetensors.Serialize(a);
        var header = Safetensors.ReadHeader(bytes);

        Assert.Equal(bytes, Safetensors.Serialize(b));
        Assert.Equal(0, (header.DataStart - 8) % 8);
        Assert.Equal(["a", "b", "c"], header.Tensors.Select(e => e.Name));
        Assert.Equal([(0L, 16L), (16L, 28L), (28L, 36L)], header.Tensors.Select(e => (e.Begin, e.End)));
        Assert.Equal(ScalarType.Int64, header.Tensors[2].DType);
        Assert.Empty(header.Tensors[2].Shape);
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_in_row_major_order()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var t = torch.arange(6).reshape(2, 3).T; // (3, 2), strides (1, 3)
        Assert.False(t.is_contiguous());
        var path = dir.File("t.safetensors");

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var fromFile = Safetensors.Load(path)["t"];
        var fromMemory = Safetensors.Deserialize(Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t }))["t"];

        Assert.Equal(new long[] { 3, 2 }, fromFile.shape);
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, fromFile.ToArray<long>());
        Assert.True(fromFile.equal(fromMemory));
    }

    [Fact]
    public void Loaded_tensors_belong_to_the_current_dispose_scope()
    {
        byte[] bytes;
        using (torch.NewDisposeScope())
            bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["x"] = torch.ones(2), ["y"] = torch.zeros(3) });
        var before = Tensor.SettledLiveNativeTensors();
        Dictionary<string, Tensor> loaded;
        using (torch.NewDisposeScope())
        {
            loaded = Safetensors.Deserialize(bytes);
            Assert.Equal(before + 2, Tensor.LiveNativeTensors);
        }
        Assert.All(loaded.Values, t => Assert.True(t.IsDisposed));
        Assert.Equal(before, Tensor.LiveNativeTensors);
    }

    [Fact]
    public void Writer_rejects_reserved_names_and_unsupported_input()
    {
        using var scope = torch.NewDisposeScope();
        var reserved = Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = torch.ones(1) }));
        Assert.Contains("reserved", reserved.Message);
        var nullTensor = Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["x"] = null! }));
        Assert.Contains("'x'", nullTensor.Message);
    }
}
