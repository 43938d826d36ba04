using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// A channels-last activation plus a per-sample channel term, x + e[:, :, None, None] (the shim's kernel,
/// native/src/channel_add.cpp, taken by the tensor <c>+</c>), against ATen's add of the same values stored NCHW: the
/// forward is one rounding of a float32 sum, so equal bit for bit; the gradient of x is the output gradient itself, and
/// that of e its sum over positions, compared with the sum in float64.
/// </summary>
public class ChannelAddTests
{
    public static TheoryData<int, ScalarType, bool> Cases() => new()
    {
        { 2, ScalarType.Float32, false }, { 2, ScalarType.BFloat16, false }, { 3, ScalarType.Float32, false },
        { 3, ScalarType.BFloat16, false }, { 3, ScalarType.BFloat16, true }, { 2, ScalarType.Float32, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_aten_forward_and_backward(int rank, ScalarType dtype, bool termFirst)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(7);
        long[] shape = rank == 2 ? [3, 16, 9, 7] : [2, 16, 5, 6, 7];
        var format = rank == 2 ? MemoryFormat.ChannelsLast : MemoryFormat.ChannelsLast3d;
        var x = torch.randn(shape, g).to(dtype);
        var e = torch.randn([shape[0], shape[1], .. Enumerable.Repeat(1L, rank)], g).to(dtype);
        var stored = x.contiguous(format).requires_grad_();
        var term = e.detach().requires_grad_();
        Tensor y = null!;
        var ops = torch.profiler.measure(() => y = termFirst ? term + stored : stored + term);
        Assert.Contains(ops, op => op.Name == "dt::channel_add");
        Assert.True(y.is_contiguous(format) && !y.is_contiguous(), "the output keeps the channels-last layout");
        var expected = x.contiguous() + e; // ATen on NCHW
        Assert.Equal(dtype, y.dtype);
        Assert.Equal(0.0, (y.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>());

        var dy = torch.randn(y.shape, g).to(dtype);
        y.backward(dy.contiguous(format));
        Assert.Equal(0.0, (stored.grad!.to(ScalarType.Float64) - dy.to(ScalarType.Float64)).abs().max().item<double>());
        var sum = dy.to(ScalarType.Float64).sum(Enumerable.Range(2, rank).Select(d => (long)d).ToArray(), keepdim: true);
        Assert.Equal(term.shape, term.grad!.shape);
        Assert.Equal(dtype, term.grad!.dtype);
        // One rounding to the type (bf16: 2⁻⁸ relative) on top of a float32 sum of 42-210 terms.
        var tolerance = dtype == ScalarType.Float32 ? 1e-5 : 4e-3;
        var error = ((term.grad!.to(ScalarType.Float64) - sum).abs() / (sum.abs() + 1e-3)).max().item<double>();
        Assert.True(error < tolerance, $"largest relative error of the term's gradient {error}");
    }

    [Fact]
    public void Other_layouts_and_shapes_stay_with_aten()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(8);
        var x = torch.randn([2, 16, 4, 4], g);
        var e = torch.randn([2, 16, 1, 1], g);
        bool RanOurs(Func<Tensor> add) => torch.profiler.measure(() => add().Dispose()).Any(op => op.Name == "dt::channel_add");
        Assert.False(RanOurs(() => x + e));                                                      // NCHW: ATen is fast there
        Assert.False(RanOurs(() => x.contiguous(MemoryFormat.ChannelsLast) + torch.randn([1, 16, 1, 1], g))); // one row for all samples
        Assert.False(RanOurs(() => x.contiguous(MemoryFormat.ChannelsLast) + e.to(ScalarType.BFloat16)));     // mixed types promote
        Assert.True(RanOurs(() => x.contiguous(MemoryFormat.ChannelsLast) + e));
    }

    [Fact]
    public void Gradients_of_gradients_go_through_aten()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(9);
        var x = torch.randn([2, 3, 4, 4], g).contiguous(MemoryFormat.ChannelsLast).requires_grad_();
        var e = torch.randn([2, 3, 1, 1], g).requires_grad_();
        var y = x + e;
        var grad = torch.autograd.grad([(y * y).sum()], [e], createGraph: true)[0]; // 2·Σ_positions (x + e)
        var second = torch.autograd.grad([grad.sum()], [e])[0];                      // 2·16 per (n, c)
        Assert.True((second - 32).abs().max().item<float>() < 1e-5f);
    }
}
