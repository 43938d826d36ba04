using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Creation, copies between .NET and tensors, dtypes and half-precision storage.</summary>
public class CreationTests
{
    [Fact]
    public void Zeros_and_ones_have_the_requested_shape_dtype_and_values()
    {
        using var scope = torch.NewDisposeScope();
        var z = torch.zeros(2, 3);
        Assert.Equal(new long[] { 2, 3 }, z.shape);
        Assert.Equal(ScalarType.Float32, z.dtype);
        Assert.All(z.ToArray<float>(), v => Assert.Equal(0f, v));
        var o = torch.ones([4], ScalarType.Int64);
        Assert.Equal(new long[] { 1, 1, 1, 1 }, o.ToArray<long>());
    }

    [Fact]
    public void Full_fills_with_the_value_in_the_requested_dtype()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new[] { 7L, 7L }, torch.full([2], 7, ScalarType.Int64).ToArray<long>());
        Assert.Equal(new[] { -1.25, -1.25, -1.25 }, torch.full([3], -1.25, ScalarType.Float64).ToArray<double>());
        Assert.Equal(new[] { true, true }, torch.full([2], true, ScalarType.Bool).ToArray<bool>());
    }

    [Fact]
    public void Arange_of_integers_is_int64_and_of_doubles_is_float32()
    {
        using var scope = torch.NewDisposeScope();
        var i = torch.arange(5);
        Assert.Equal(ScalarType.Int64, i.dtype);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, i.ToArray<long>());
        var f = torch.arange(0.0, 1.0, 0.25);
        Assert.Equal(ScalarType.Float32, f.dtype);
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f }, f.ToArray<float>());
        Assert.Equal(new long[] { 10, 7, 4, 1 }, torch.arange(10, 0, -3).ToArray<long>());
    }

    [Fact]
    public void Linspace_includes_both_ends()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.linspace(0, 1, 5, ScalarType.Float64);
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1 }, t.ToArray<double>());
        Assert.Equal(new[] { 3f }, torch.linspace(3, 9, 1).ToArray<float>());
    }

    [Fact]
    public void Eye_has_ones_on_the_diagonal_only()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, torch.eye(3).ToArray<float>());
        var rect = torch.eye(2, 3, ScalarType.Int64);
        Assert.Equal(new long[] { 2, 3 }, rect.shape);
        Assert.Equal(new long[] { 1, 0, 0, 0, 1, 0 }, rect.ToArray<long>());
    }

    [Fact]
    public void Tensor_from_array_round_trips_through_ToArray()
    {
        using var scope = torch.NewDisposeScope();
        var data = new[] { 1.5f, -2f, 3.25f, 0f, 1e-7f, float.MaxValue };
        var t = torch.tensor(data, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(data, t.ToArray<float>());
        Assert.Equal(new long[] { -5, long.MaxValue }, torch.tensor(-5L, long.MaxValue).ToArray<long>());
        Assert.Equal(new[] { true, false, true }, torch.tensor(true, false, true).ToArray<bool>());
    }

    [Fact]
    public void Tensor_from_2d_array_is_row_major()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(6.0, t[1, 2].item<double>());
        Assert.Equal(2.0, t[0, 1].item<double>());
    }

    [Fact]
    public void Tensor_from_a_buffer_of_the_wrong_length_throws()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.tensor(new float[5], [2, 3]));
        Assert.Contains("bytes", ex.Message);
    }

    [Fact]
    public void ToArray_of_a_non_contiguous_view_is_row_major_in_the_view()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(6).reshape(2, 3).T;
        Assert.False(t.is_contiguous());
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, t.ToArray<long>());
    }

    [Fact]
    public void Data_span_reads_and_writes_tensor_memory_without_a_copy()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros(4);
        var span = t.data<float>();
        Assert.Equal(4, span.Length);
        span[2] = 42f;
        Assert.Equal(42f, t[2].item<float>());
        var view = t.narrow(0, 1, 2); // shares storage with t
        Assert.Equal(new[] { 0f, 42f }, view.ToArray<float>());
    }

    [Fact]
    public void Data_span_refuses_a_non_contiguous_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros(2, 3).T;
        Assert.Throws<InvalidOperationException>(() => t.data<float>().Length);
    }

    [Fact]
    public void CopyTo_fills_a_span_of_exactly_numel_elements()
    {
        using var scope = torch.NewDisposeScope();
        var dest = new long[3];
        torch.arange(3).CopyTo<long>(dest);
        Assert.Equal(new long[] { 0, 1, 2 }, dest);
        Assert.Throws<TorchException>(() => torch.arange(3).CopyTo<long>(new long[4]));
    }

    [Fact]
    public void Item_converts_to_the_requested_type()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.scalar_tensor(2.75, ScalarType.Float64);
        Assert.Equal(0, t.dim());
        Assert.Equal(2.75, t.item<double>());
        Assert.Equal(2.75f, t.item<float>());
        Assert.Equal(7L, torch.tensor(7L).item<long>());
        Assert.Equal(7, torch.tensor(7L).item<int>());
        Assert.True(torch.tensor(true).item<bool>());
        Assert.Throws<TorchException>(() => torch.ones(2).item<float>());
    }

    [Fact]
    public void Like_constructors_copy_shape_and_dtype()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones([2, 5], ScalarType.Float64);
        var z = torch.zeros_like(x);
        Assert.Equal(x.shape, z.shape);
        Assert.Equal(ScalarType.Float64, z.dtype);
        Assert.Equal(3.0, torch.full_like(x, 3).mean().item<double>());
    }

    [Fact]
    public void Empty_shape_gives_a_tensor_with_no_elements()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.zeros(0, 3);
        Assert.Equal(0, t.numel());
        Assert.Empty(t.ToArray<float>());
        Assert.Equal(0f, t.sum().item<float>());
    }
}
