using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>float32/float64/int64/bool tensors and float16/bfloat16 storage conversions.</summary>
public class DTypeTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 4)]
    [InlineData(ScalarType.Float64, 8)]
    [InlineData(ScalarType.Int64, 8)]
    [InlineData(ScalarType.Bool, 1)]
    [InlineData(ScalarType.Float16, 2)]
    [InlineData(ScalarType.BFloat16, 2)]
    public void Zeros_of_each_dtype_report_it_and_convert_to_float64(ScalarType type, int size)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.ones([3], type);
        Assert.Equal(type, t.dtype);
        Assert.Equal(size, type.ElementSize());
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, t.to(ScalarType.Float64).ToArray<double>());
    }

    [Fact]
    public void Float16_round_trips_values_it_can_represent()
    {
        using var scope = torch.NewDisposeScope();
        var values = new[] { (Half)0.5f, (Half)(-2f), (Half)65504f, (Half)0.000061035156f };
        var t = torch.tensor(values, [4]);
        Assert.Equal(ScalarType.Float16, t.dtype);
        Assert.Equal(values, t.ToArray<Half>());
        Assert.Equal(new[] { 0.5f, -2f, 65504f, 0.000061035156f }, t.@float().ToArray<float>());
    }

    [Fact]
    public void Float32_to_float16_rounds_to_nearest_and_overflows_to_infinity()
    {
        using var scope = torch.NewDisposeScope();
        var h = torch.tensor(0.1f, 70000f).to(ScalarType.Float16).@float().ToArray<float>();
        Assert.Equal((float)(Half)0.1f, h[0]);
        Assert.True(float.IsPositiveInfinity(h[1]));
    }

    [Fact]
    public void BFloat16_struct_matches_libtorch_rounding()
    {
        using var scope = torch.NewDisposeScope();
        var source = new[] { 1f, 3.14159265f, -0.001f, 1.00390625f, 1.01171875f, 1e30f };
        var viaTorch = torch.tensor(source).to(ScalarType.BFloat16).ToArray<BFloat16>();
        Assert.Equal(source.Select(v => (BFloat16)v).ToArray(), viaTorch);
        Assert.Equal((ushort)0x3F80, ((BFloat16)1f).Bits);
        Assert.Equal(1f, (float)(BFloat16)1.00390625f); // a tie rounds to the even neighbour (1.0)
        Assert.Equal(1.015625f, (float)(BFloat16)1.01171875f); // a tie rounds up to even
    }

    [Fact]
    public void BFloat16_tensor_from_structs_converts_to_float32_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var values = new[] { (BFloat16)2.5f, (BFloat16)(-0.75f) };
        Assert.Equal(new[] { 2.5f, -0.75f }, torch.tensor(values, [2]).@float().ToArray<float>());
    }

    [Fact]
    public void Float_to_int64_truncates_towards_zero()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new long[] { 2, -2, 0 }, torch.tensor(2.9f, -2.9f, 0.4f).@long().ToArray<long>());
    }

    [Fact]
    public void To_bool_marks_nonzero_elements()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new[] { false, true, true }, torch.tensor(0.0, -0.5, 3.0).@bool().ToArray<bool>());
    }

    [Fact]
    public void To_the_same_dtype_without_copy_shares_storage_and_with_copy_does_not()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros(2);
        var same = x.to(ScalarType.Float32);
        var copy = x.to(ScalarType.Float32, copy: true);
        x.fill_(5);
        Assert.Equal(5f, same[0].item<float>());
        Assert.Equal(0f, copy[0].item<float>());
    }

    [Fact]
    public void Mixed_float_widths_promote_to_the_wider()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.ones([2], ScalarType.Float32) + torch.ones([2], ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, r.dtype);
        var h = torch.ones([2], ScalarType.Float16) * torch.ones([2], ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, h.dtype);
    }
}
