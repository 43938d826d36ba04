using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// torch.cat of channels-last activations along channels under autograd (native/src/channel_cat.cpp): ATen's forward,
/// and a backward that hands each input its gradient as a contiguous channels-last tensor instead of a strided slice —
/// the same values as ATen's.
/// </summary>
public class ChannelCatTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Matches_aten_and_returns_contiguous_gradients(int rank)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(10);
        var format = rank == 2 ? MemoryFormat.ChannelsLast : MemoryFormat.ChannelsLast3d;
        long[] spatial = rank == 2 ? [5, 6] : [3, 4, 5];
        var a = torch.randn([2, 16, .. spatial], g).to(ScalarType.BFloat16).contiguous(format).requires_grad_();
        var b = torch.randn([2, 8, .. spatial], g).to(ScalarType.BFloat16).contiguous(format).requires_grad_();
        Tensor y = null!;
        var ops = torch.profiler.measure(() =>
        {
            y = torch.cat([a, b], 1);
            (y.to(ScalarType.Float32) * torch.arange(y.numel()).reshape(y.shape).to(ScalarType.Float32)).sum().backward();
        });
        Assert.Contains(ops, op => op.Name == "dt::channel_cat_backward");
        var expected = torch.cat([a.detach().contiguous(), b.detach().contiguous()], 1);
        Assert.Equal(0.0, (y.detach().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>());
        var weights = torch.arange(y.numel()).reshape(y.shape).to(ScalarType.BFloat16);
        foreach (var (input, start) in new[] { (a, 0L), (b, 16L) })
        {
            var grad = input.grad!;
            Assert.True(grad.is_contiguous(format) && !grad.is_contiguous(), "a contiguous channels-last gradient, not a slice");
            var want = weights.narrow(1, start, input.size(1));
            Assert.Equal(0.0, (grad.to(ScalarType.Float64) - want.to(ScalarType.Float64)).abs().max().item<double>());
        }
    }

    [Fact]
    public void Other_layouts_stay_with_aten()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        var a = torch.randn([2, 4, 3, 3], g).requires_grad_();
        var b = torch.randn([2, 4, 3, 3], g).requires_grad_();
        bool RanOurs(Tensor x, Tensor y) => torch.profiler.measure(() => torch.cat([x, y], 1).sum().backward())
            .Any(op => op.Name == "dt::channel_cat_backward");
        Assert.False(RanOurs(a, b)); // NCHW: ATen's slices are contiguous there
        Assert.True(RanOurs(a.contiguous(MemoryFormat.ChannelsLast), b.contiguous(MemoryFormat.ChannelsLast)));
    }
}
