using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Reshapes, views, joins, splits and indexing.</summary>
public class ShapeTests
{
    private static Tensor A() => torch.arange(24).reshape(2, 3, 4); // a[i, j, k] = 12 i + 4 j + k

    [Fact]
    public void Reshape_infers_minus_one_and_keeps_row_major_order()
    {
        using var scope = torch.NewDisposeScope();
        var r = A().reshape(4, -1);
        Assert.Equal(new long[] { 4, 6 }, r.shape);
        Assert.Equal(7L, r[1, 1].item<long>());
    }

    [Fact]
    public void View_shares_storage_and_refuses_non_contiguous_input()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.zeros(2, 3);
        var v = a.view(6);
        v.data<float>()[4] = 9;
        Assert.Equal(9f, a[1, 1].item<float>());
        Assert.Throws<TorchException>(() => a.T.view(6));
        Assert.Equal(new long[] { 6 }, a.T.reshape(6).shape);
    }

    [Fact]
    public void Permute_and_transpose_move_dims()
    {
        using var scope = torch.NewDisposeScope();
        var p = A().permute(2, 0, 1);
        Assert.Equal(new long[] { 4, 2, 3 }, p.shape);
        Assert.Equal(12L * 1 + 4 * 2 + 3, p[3, 1, 2].item<long>());
        var t = A().transpose(0, 2);
        Assert.Equal(new long[] { 4, 3, 2 }, t.shape);
        Assert.Equal(12L * 1 + 4 * 2 + 3, t[3, 2, 1].item<long>());
        Assert.Equal(new long[] { 1, 4, 12 }, t.stride());
    }

    [Fact]
    public void Flatten_from_a_start_dim()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new long[] { 24 }, A().flatten().shape);
        Assert.Equal(new long[] { 2, 12 }, A().flatten(1).shape);
        Assert.Equal(new long[] { 6, 4 }, A().flatten(0, 1).shape);
        Assert.Equal(new long[] { 2, 3, 2, 2 }, A().unflatten(2, 2, 2).shape);
    }

    [Fact]
    public void Unsqueeze_and_squeeze()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new long[] { 2, 1, 3, 4 }, A().unsqueeze(1).shape);
        Assert.Equal(new long[] { 2, 3, 4, 1 }, A().unsqueeze(-1).shape);
        var s = torch.zeros(1, 3, 1, 2);
        Assert.Equal(new long[] { 3, 2 }, s.squeeze().shape);
        Assert.Equal(new long[] { 1, 3, 2 }, s.squeeze(2).shape);
        Assert.Equal(new long[] { 1, 3, 1, 2 }, s.squeeze(1).shape); // size 3: unchanged, as in PyTorch
    }

    [Fact]
    public void Expand_broadcasts_without_copying()
    {
        using var scope = torch.NewDisposeScope();
        var col = torch.tensor(new float[] { 1, 2, 3 }, [3, 1]);
        var e = col.expand(2, 3, 4);
        Assert.Equal(new long[] { 2, 3, 4 }, e.shape);
        Assert.Equal(new long[] { 0, 1, 0 }, e.stride());
        Assert.Equal(3f, e[1, 2, 3].item<float>());
        Assert.Throws<TorchException>(() => col.expand(2, 4));
    }

    [Fact]
    public void Cat_and_stack()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(1L, 2L);
        var b = torch.tensor(3L, 4L);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, torch.cat([a, b]).ToArray<long>());
        var s0 = torch.stack([a, b]);
        Assert.Equal(new long[] { 2, 2 }, s0.shape);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, s0.ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 2, 4 }, torch.stack([a, b], 1).ToArray<long>());
        Assert.Equal(new long[] { 2, 3, 8 }, torch.cat([A(), A()], -1).shape);
    }

    [Fact]
    public void Chunk_and_split_cover_the_dim_in_order()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(10);
        var chunks = x.chunk(3);
        Assert.Equal(new[] { 4L, 4, 2 }, chunks.Select(c => c.numel()).ToArray());
        Assert.Equal(new long[] { 8, 9 }, chunks[2].ToArray<long>());
        var parts = x.split(3);
        Assert.Equal(new[] { 3L, 3, 3, 1 }, parts.Select(c => c.numel()).ToArray());
        var sized = x.split([2, 5, 3]);
        Assert.Equal(new long[] { 2, 3, 4, 5, 6 }, sized[1].ToArray<long>());
        Assert.Throws<TorchException>(() => x.split([2, 2]));
        Assert.Equal(3, A().unbind(1).Length);
    }

    [Fact]
    public void Narrow_and_slice_are_views()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(10);
        var n = x.narrow(0, 2, 3);
        Assert.Equal(new long[] { 2, 3, 4 }, n.ToArray<long>());
        n.fill_(0);
        Assert.Equal(0L, x[3].item<long>());
        Assert.Equal(new long[] { 1, 4, 7 }, torch.arange(10).slice(0, 1, 8, 3).ToArray<long>());
        Assert.Equal(new long[] { 8, 9 }, torch.arange(10).slice(0, -2).ToArray<long>());
    }

    [Fact]
    public void Index_select_and_indexer()
    {
        using var scope = torch.NewDisposeScope();
        var a = A();
        var s = a.index_select(2, torch.tensor(3L, 0L));
        Assert.Equal(new long[] { 2, 3, 2 }, s.shape);
        Assert.Equal(new long[] { 3, 0 }, s[0, 0].ToArray<long>());
        Assert.Equal(new long[] { 4 }, a[1, 2].shape);
        Assert.Equal(12L + 8 + 1, a[1, 2, 1].item<long>());
        Assert.Equal(23L, a[-1, -1, -1].item<long>());
        Assert.Equal(new long[] { 3, 4 }, a[0].shape);
    }

    [Fact]
    public void Gather_flip_repeat()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new long[,] { { 1, 2 }, { 3, 4 } });
        Assert.Equal(new long[] { 2, 3 }, x.gather(1, torch.tensor(new long[,] { { 1 }, { 0 } })).ToArray<long>());
        Assert.Equal(new long[] { 4, 3, 2, 1 }, x.flip(0, 1).ToArray<long>());
        Assert.Equal(new long[] { 2, 4 }, x.repeat(1, 2).shape);
    }

    [Fact]
    public void Matmul_bmm_einsum_outer_at_known_values()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new double[,] { { 1, 2 }, { 3, 4 } });
        var b = torch.tensor(new double[,] { { 5, 6 }, { 7, 8 } });
        Assert.Equal(new[] { 19.0, 22, 43, 50 }, a.matmul(b).ToArray<double>());
        Assert.Equal(new[] { 5.0, 11 }, a.matmul(torch.tensor(1.0, 2.0)).ToArray<double>());
        var batched = torch.stack([a, b]).bmm(torch.stack([b, a]));
        Assert.Equal(new[] { 19.0, 22, 43, 50, 23, 34, 31, 46 }, batched.ToArray<double>());
        Assert.Equal(5.0, torch.einsum("ii->", a).item<double>());
        Assert.Equal(a.matmul(b).ToArray<double>(), torch.einsum("ij,jk->ik", a, b).ToArray<double>());
        Assert.Equal(new[] { 3.0, 4, 6, 8 }, torch.tensor(1.0, 2.0).outer(torch.tensor(3.0, 4.0)).ToArray<double>());
    }

    [Fact]
    public void Matmul_broadcasts_batch_dims()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new long[] { 5, 2, 3, 6 }, torch.ones(5, 1, 3, 4).matmul(torch.ones(2, 4, 6)).shape);
    }
}
