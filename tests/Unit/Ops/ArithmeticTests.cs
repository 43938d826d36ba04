using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Operators, broadcasting, scalar kinds, comparisons, where, clamp and elementwise math.</summary>
public class ArithmeticTests
{
    [Fact]
    public void Int_tensor_plus_int_scalar_stays_int64()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.arange(3) + 2;
        Assert.Equal(ScalarType.Int64, r.dtype);
        Assert.Equal(new long[] { 2, 3, 4 }, r.ToArray<long>());
    }

    [Fact]
    public void Int_tensor_plus_fractional_scalar_promotes_to_float32()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.arange(3) + 2.5;
        Assert.Equal(ScalarType.Float32, r.dtype);
        Assert.Equal(new[] { 2.5f, 3.5f, 4.5f }, r.ToArray<float>());
    }

    [Fact]
    public void Float32_tensor_with_double_scalar_stays_float32()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(ScalarType.Float32, (torch.ones(2) * 0.1).dtype);
        Assert.Equal(ScalarType.Float64, (torch.ones([2], ScalarType.Float64) * 3).dtype);
    }

    [Fact]
    public void Scalar_on_the_left_keeps_operand_order()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1f, 2f, 4f);
        Assert.Equal(new[] { 9f, 8f, 6f }, (10 - x).ToArray<float>());
        Assert.Equal(new[] { 8f, 4f, 2f }, (8 / x).ToArray<float>());
        Assert.Equal(new[] { 3f, 6f, 12f }, (3 * x).ToArray<float>());
        Assert.Equal(new[] { 1.5f, 2.5f, 4.5f }, (0.5 + x).ToArray<float>());
        Assert.Equal(ScalarType.Int64, (10 - torch.arange(2)).dtype);
    }

    [Fact]
    public void Integer_division_of_tensors_is_true_division()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.tensor(7L, -7L) / torch.tensor(2L, 2L);
        Assert.Equal(ScalarType.Float32, r.dtype);
        Assert.Equal(new[] { 3.5f, -3.5f }, r.ToArray<float>());
        Assert.Equal(new long[] { 3, -4 }, torch.tensor(7L, -7L).floor_divide(2).ToArray<long>());
        Assert.Equal(new long[] { 1, 1 }, (torch.tensor(7L, -7L) % 2).ToArray<long>()); // Python's sign convention
    }

    [Fact]
    public void Broadcasting_column_with_row_gives_the_outer_shape()
    {
        using var scope = torch.NewDisposeScope();
        var col = torch.tensor(new float[] { 0, 10, 20 }, [3, 1]);
        var row = torch.tensor(1f, 2f);
        var r = col + row;
        Assert.Equal(new long[] { 3, 2 }, r.shape);
        Assert.Equal(new[] { 1f, 2f, 11f, 12f, 21f, 22f }, r.ToArray<float>());
    }

    [Fact]
    public void Broadcasting_incompatible_shapes_throws()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.ones(3) + torch.ones(4));
        Assert.Contains("[3] float32", ex.Message);
        Assert.Contains("[4] float32", ex.Message);
    }

    [Fact]
    public void In_place_ops_modify_the_tensor_and_return_it()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(3);
        var same = x.add_(2).mul_(torch.tensor(1f, 2f, 3f)).sub_(1);
        Assert.Same(x, same);
        Assert.Equal(new[] { 2f, 5f, 8f }, x.ToArray<float>());
        x.add_(torch.ones(3), alpha: -2);
        Assert.Equal(new[] { 0f, 3f, 6f }, x.ToArray<float>());
    }

    [Fact]
    public void Add_with_alpha_scales_the_other_operand()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new[] { 7f, 10f }, torch.tensor(1f, 1f).add(torch.tensor(2f, 3f), 3).ToArray<float>());
    }

    [Fact]
    public void Comparisons_give_bool_tensors()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1f, 2f, 3f);
        var y = torch.tensor(3f, 2f, 1f);
        Assert.Equal(ScalarType.Bool, (x < y).dtype);
        Assert.Equal(new[] { true, false, false }, (x < y).ToArray<bool>());
        Assert.Equal(new[] { true, true, false }, (x <= y).ToArray<bool>());
        Assert.Equal(new[] { false, false, true }, (x > y).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, (x >= y).ToArray<bool>());
        Assert.Equal(new[] { false, true, false }, x.eq(y).ToArray<bool>());
        Assert.Equal(new[] { true, false, true }, x.ne(y).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, (x > 1.5).ToArray<bool>());
    }

    [Fact]
    public void Logical_operators_combine_masks()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(true, true, false, false);
        var b = torch.tensor(true, false, true, false);
        Assert.Equal(new[] { true, false, false, false }, (a & b).ToArray<bool>());
        Assert.Equal(new[] { true, true, true, false }, (a | b).ToArray<bool>());
        Assert.Equal(new[] { false, false, true, true }, (!a).ToArray<bool>());
    }

    [Fact]
    public void Where_picks_from_the_first_tensor_where_the_condition_holds_and_broadcasts()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(-1f, 2f, -3f, 4f);
        var r = torch.where(x > 0, x, torch.zeros(1));
        Assert.Equal(new[] { 0f, 2f, 0f, 4f }, r.ToArray<float>());
    }

    [Theory]
    [InlineData(-1.0, 1.0, new[] { -1.0, -0.5, 0.5, 1.0 })]
    [InlineData(0.0, null, new[] { 0.0, 0.0, 0.5, 2.0 })]
    [InlineData(null, 0.0, new[] { -2.0, -0.5, 0.0, 0.0 })]
    public void Clamp_limits_to_the_given_bounds(double? min, double? max, double[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(-2.0, -0.5, 0.5, 2.0);
        Assert.Equal(expected, x.clamp(min.HasValue ? min.Value : null, max.HasValue ? max.Value : null).ToArray<double>());
    }

    [Fact]
    public void Clamp_of_an_int_tensor_with_int_bounds_stays_int64()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.arange(-3, 4).clamp(-1, 1);
        Assert.Equal(ScalarType.Int64, r.dtype);
        Assert.Equal(new long[] { -1, -1, -1, 0, 1, 1, 1 }, r.ToArray<long>());
    }

    [Fact]
    public void Elementwise_math_at_known_points()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(0.0, 1.0, 4.0);
        TensorAssert.Close([1, Math.E, Math.Exp(4)], x.exp(), 1e-12, 0);
        TensorAssert.Close([0, 1, 2], x.sqrt(), 1e-12, 0);
        TensorAssert.Close([0, 1, 16], x.pow(2), 1e-12, 0);
        TensorAssert.Close([0, 1, 8], x.pow(1.5), 1e-12, 0);
        TensorAssert.Close([1, Math.Log(2)], torch.tensor(Math.E, 2.0).log(), 1e-12, 0);
        TensorAssert.Close([1, 0, -1], torch.tensor(Math.PI / 2, Math.PI, 3 * Math.PI / 2).sin(), 0, 1e-12);
        TensorAssert.Close([1, -1], torch.tensor(0.0, Math.PI).cos(), 0, 1e-12);
        TensorAssert.Close([3, 0, 2.5], torch.tensor(-3.0, 0.0, 2.5).abs(), 0, 0);
        TensorAssert.Close([0.5, 0.25], torch.tensor(4.0, 16.0).rsqrt(), 1e-12, 0);
    }

    [Fact]
    public void Pow_with_tensor_exponent_is_elementwise()
    {
        using var scope = torch.NewDisposeScope();
        TensorAssert.Close([8, 1, 0.5], torch.tensor(2.0, 5.0, 4.0).pow(torch.tensor(3.0, 0.0, -0.5)), 1e-12, 0);
    }

    [Fact]
    public void Log_of_zero_is_minus_infinity_and_of_negative_is_nan()
    {
        using var scope = torch.NewDisposeScope();
        var r = torch.tensor(0f, -1f).log().ToArray<float>();
        Assert.True(float.IsNegativeInfinity(r[0]));
        Assert.True(float.IsNaN(r[1]));
        Assert.Equal(new[] { false, true }, torch.tensor(0f, -1f).log().isnan().ToArray<bool>());
    }

    [Fact]
    public void Maximum_and_minimum_are_elementwise()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(1f, 5f, -2f);
        var b = torch.tensor(3f, 0f, -1f);
        Assert.Equal(new[] { 3f, 5f, -1f }, a.maximum(b).ToArray<float>());
        Assert.Equal(new[] { 1f, 0f, -2f }, a.minimum(b).ToArray<float>());
    }

    [Fact]
    public void Allclose_and_equal_distinguish_tolerance_from_identity()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(1.0, 2.0);
        var b = torch.tensor(1.0 + 1e-9, 2.0);
        Assert.True(a.allclose(b));
        Assert.False(a.equal(b));
        Assert.True(a.equal(a.clone()));
    }
}
