using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>sum/mean/var/std/min/max/argmax with and without dims and keepdim.</summary>
public class ReductionTests
{
    // [[1, 2, 3], [4, 5, 6]]
    private static Tensor M() => torch.tensor(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });

    [Fact]
    public void Var_of_1_to_4_is_five_thirds_unbiased_and_five_quarters_biased()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0, 3.0, 4.0);
        Assert.Equal(5.0 / 3.0, x.var().item<double>(), 12);
        Assert.Equal(1.25, x.var(unbiased: false).item<double>(), 12);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), x.std().item<double>(), 12);
        Assert.Equal(Math.Sqrt(1.25), x.std(unbiased: false).item<double>(), 12);
    }

    [Fact]
    public void Sum_and_mean_over_all_and_over_dims()
    {
        using var scope = torch.NewDisposeScope();
        var m = M();
        Assert.Equal(21.0, m.sum().item<double>());
        Assert.Equal(3.5, m.mean().item<double>());
        Assert.Equal(new[] { 5.0, 7, 9 }, m.sum(0).ToArray<double>());
        Assert.Equal(new[] { 2.0, 5 }, m.mean(1).ToArray<double>());
        Assert.Equal(new[] { 2.0, 5 }, m.mean(-1).ToArray<double>());
        Assert.Equal(21.0, m.sum([0, 1]).item<double>());
    }

    [Fact]
    public void Keepdim_keeps_reduced_dims_with_size_one()
    {
        using var scope = torch.NewDisposeScope();
        var m = M();
        Assert.Equal(new long[] { 2, 1 }, m.sum(1, keepdim: true).shape);
        Assert.Equal(new long[] { 1, 3 }, m.mean(0, keepdim: true).shape);
        Assert.Equal(new long[] { 1, 1 }, m.var([0, 1], keepdim: true).shape);
        Assert.Equal(new long[] { 2 }, m.std(1).shape);
        Assert.Equal(new long[] { 2, 1 }, m.argmax(1, keepdim: true).shape);
        Assert.Equal(new long[] { 1, 3 }, m.max(0, keepdim: true).values.shape);
    }

    [Fact]
    public void Var_and_std_along_a_dim()
    {
        using var scope = torch.NewDisposeScope();
        var m = M();
        Assert.Equal(new[] { 4.5, 4.5, 4.5 }, m.var(0).ToArray<double>());
        Assert.Equal(new[] { 1.0, 1.0 }, m.std(1).ToArray<double>());
        Assert.Equal(new[] { 2.0 / 3, 2.0 / 3 }, m.var(1, unbiased: false).ToArray<double>());
    }

    [Fact]
    public void Sum_of_int64_stays_int64_and_mean_of_int_throws()
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.arange(5).sum();
        Assert.Equal(ScalarType.Int64, s.dtype);
        Assert.Equal(10L, s.item<long>());
        Assert.Throws<TorchException>(() => torch.arange(5).mean());
    }

    [Fact]
    public void Max_and_min_along_a_dim_give_values_and_indices()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 3, 9, 1 }, { 7, 2, 8 } });
        var (values, indices) = x.max(1);
        Assert.Equal(new[] { 9.0, 8 }, values.ToArray<double>());
        Assert.Equal(new long[] { 1, 2 }, indices.ToArray<long>());
        var (minValues, minIndices) = x.min(0);
        Assert.Equal(new[] { 3.0, 2, 1 }, minValues.ToArray<double>());
        Assert.Equal(new long[] { 0, 1, 0 }, minIndices.ToArray<long>());
        Assert.Equal(9.0, x.max().item<double>());
        Assert.Equal(1.0, x.min().item<double>());
    }

    [Fact]
    public void Argmax_without_dim_indexes_the_flattened_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 3, 9, 1 }, { 7, 2, 8 } });
        Assert.Equal(1L, x.argmax().item<long>());
        Assert.Equal(2L, x.argmin().item<long>());
        Assert.Equal(new long[] { 1, 0, 1 }, x.argmax(0).ToArray<long>());
        Assert.Equal(new long[] { 2, 1 }, x.argmin(-1).ToArray<long>());
    }

    [Fact]
    public void Amax_and_amin_over_several_dims()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(24).reshape(2, 3, 4).@double();
        Assert.Equal(new[] { 11.0, 23 }, x.amax([1, 2], false).ToArray<double>());
        Assert.Equal(new[] { 0.0, 1, 2, 3 }, x.amin([0, 1], false).ToArray<double>());
    }

    [Fact]
    public void Prod_norm_logsumexp_cumsum_any_all()
    {
        using var scope = torch.NewDisposeScope();
        var m = M();
        Assert.Equal(720.0, m.prod().item<double>());
        Assert.Equal(new[] { 6.0, 120 }, m.prod(1).ToArray<double>());
        Assert.Equal(5.0, torch.tensor(3.0, 4.0).norm().item<double>(), 12);
        Assert.Equal(Math.Log(2) + 1, torch.tensor(1.0, 1.0).logsumexp(0).item<double>(), 12);
        Assert.Equal(new[] { 1.0, 3, 6, 4, 9, 15 }, m.cumsum(1).ToArray<double>());
        Assert.True((m > 5).any().item<bool>());
        Assert.False((m > 5).all().item<bool>());
        Assert.Equal(new[] { false, true }, (m > 3).all(1).ToArray<bool>());
    }

    [Fact]
    public void Reducing_a_dim_out_of_range_throws()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => M().sum(2));
        Assert.Contains("sum", ex.Message);
        Assert.Contains("range", ex.Message);
    }
}
