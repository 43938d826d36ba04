using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// bf16 channels-last 3-D convolutions with at most 4 output channels (a volume U-Net's conv_out) on the shim's row
/// kernels (conv_narrow.cpp) against ATen's float32 convolution of the same bfloat16 values: the forward and every
/// gradient, 1, 3 and 4 outputs, channel counts that fill a vector, part of one and a single lane, kernels 3 and 1,
/// padding that keeps the size and none, with and without bias, plain and channels-last weights; which convolutions it
/// takes; and the create_graph path.
/// </summary>
public class ConvNarrowTests
{
    private static bool RanNarrow(Action conv) => torch.profiler.measure(conv).Any(op => op.Name == "dt::conv_narrow");

    [Fact]
    public void Forward_and_gradients_match_float32_aten_on_the_same_bfloat16_values()
    {
        using var g = new Generator(51);
        foreach (var outputs in new long[] { 1, 3, 4 })
        foreach (var inChannels in new long[] { 16, 5, 1 })
        foreach (var (kernel, padding) in new (long, long)[] { (3, 1), (3, 0), (1, 0) })
        foreach (var bias in new[] { true, false })
        foreach (var channelsLastWeight in new[] { false, true })
        {
            using var scope = torch.NewDisposeScope();
            var context = $"{outputs} outputs, {inChannels} input channels, kernel {kernel}, padding {padding}, bias {bias}, channels-last weight {channelsLastWeight}";
            var x = torch.randn([2, inChannels, 5, 6, 11], g).to(ScalarType.BFloat16); // 11: a last tile of 8 positions half full
            var w = (torch.randn([outputs, inChannels, kernel, kernel, kernel], g) * 0.2).to(ScalarType.BFloat16);
            Tensor? b = bias ? torch.randn([outputs], g).to(ScalarType.BFloat16) : null;
            var layout = MemoryFormat.ChannelsLast3d;
            var input = x.contiguous(layout);
            var weight = channelsLastWeight ? w.contiguous(layout) : w;
            Assert.True(RanNarrow(() => F.convolution(input, weight, b, 3, [1], [padding], [1], false, [0], 1, "conv3d").Dispose()), context + ": the row kernels serve it");
            var (ours, exact) = ConvGradients.AgainstFloat32(3, input, weight, b, 1, padding, g);
            Assert.Equal(exact.Y.shape, ours.Y.shape);
            Assert.True(ours.Y.is_contiguous(layout), context + ": the result is channels-last");
            Assert.True(ours.Dx.is_contiguous(layout), context + ": the input gradient is channels-last");
            ours.AssertWithinOneBfloat16Rounding(exact, context);
        }
    }

    [Fact]
    public void Only_narrow_stride_one_volumes_take_the_row_kernels()
    {
        // Routing, seen by the op profiler: up to 4 outputs at stride 1 take the row kernels; 5 outputs, a stride of 2, an
        // NCDHW volume or an image do not.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(52);
        var volume = torch.randn([2, 8, 4, 6, 6], g).to(ScalarType.BFloat16);
        bool Narrow(Tensor input, long outputs, long stride)
        {
            var w = (torch.randn([outputs, 8, .. Enumerable.Repeat(3L, (int)input.dim() - 2)], g) * 0.1).to(ScalarType.BFloat16);
            return RanNarrow(() => F.convolution(input, w, null, (int)input.dim() - 2, [stride], [1], [1], false, [0], 1, "conv").Dispose());
        }
        var channelsLast = volume.contiguous(MemoryFormat.ChannelsLast3d);
        Assert.True(Narrow(channelsLast, 1, 1));
        Assert.True(Narrow(channelsLast, 4, 1));
        Assert.False(Narrow(channelsLast, 5, 1));
        Assert.False(Narrow(channelsLast, 1, 2));
        Assert.False(Narrow(volume, 1, 1));
        Assert.False(Narrow(torch.randn([2, 8, 6, 6], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast), 1, 1));
    }

    [Fact]
    public void Second_derivatives_go_through_aten()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(53);
        var x = torch.randn([1, 4, 4, 4, 4], g).to(ScalarType.BFloat16);
        var w = (torch.randn([2, 4, 3, 3, 3], g) * 0.2).to(ScalarType.BFloat16);
        double[] SecondOrder(Tensor input)
        {
            var xl = input.detach().requires_grad_();
            var wl = w.detach().requires_grad_();
            var y = F.convolution(xl, wl, null, 3, [1], [1], [1], false, [0], 1, "conv");
            var dx = torch.autograd.grad(y.@float().pow(2).sum(), xl, createGraph: true);
            dx.@float().pow(2).sum().backward();
            return TensorAssert.Values(wl.grad!);
        }
        var ours = SecondOrder(x.contiguous(MemoryFormat.ChannelsLast3d));
        var aten = SecondOrder(x);
        TensorAssert.Close(aten, ours, rtol: 2e-2, atol: 1e-2, context: "d/dw of |d/dx|²");
    }
}
