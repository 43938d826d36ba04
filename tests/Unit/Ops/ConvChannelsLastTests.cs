using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>A convolution whose bf16 channels-last images and volumes go to oneDNN directly instead of through ATen.</summary>
public sealed class OneDnnConvFactAttribute : FactAttribute
{
    public OneDnnConvFactAttribute()
    {
        if (!torch.conv_channels_last())
            Skip = "the shim was built without oneDNN's headers (sudo apt-get install libdnnl-dev; ./bootstrap.sh installs it) or DIFFUSION_CONV=aten";
    }
}

/// <summary>
/// The shim's oneDNN convolution on bfloat16 channels-last images and volumes (README, Precision) against ATen's float32
/// convolution of the same bfloat16 values: the forward and every gradient, 2-D and 3-D, 3×3 and 1×1 kernels, strides 1
/// and 2 (the two weight-gradient kernels the shim picks between), plain and channels-last weights, with and without
/// bias, and the create_graph path.
/// </summary>
public class ConvChannelsLastTests
{
    [OneDnnConvFact]
    public void Forward_and_gradients_match_float32_aten_on_the_same_bfloat16_values()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(31);
        foreach (var rank in new[] { 2, 3 })
        // One channel: a U-Net's first convolution (both layouts at once). Odd counts: oneDNN 2.6's jit_bf16_1x1 forward
        // gets 3-D ones wrong, so the shim must not pick it (conv_onednn.cpp).
        foreach (var inChannels in new long[] { 8, 1, 3 })
        foreach (var kernel in new long[] { 3, 1 })
        foreach (var stride in new long[] { 1, 2 })
        foreach (var bias in new[] { true, false })
        foreach (var channelsLastWeight in new[] { false, true })
        {
            var context = $"rank {rank}, {inChannels} input channels, kernel {kernel}, stride {stride}, bias {bias}, channels-last weight {channelsLastWeight}";
            var layout = rank == 2 ? MemoryFormat.ChannelsLast : MemoryFormat.ChannelsLast3d;
            long[] spatial = rank == 2 ? [9, 7] : [5, 6, 7];
            var x = torch.randn([2, inChannels, .. spatial], g).to(ScalarType.BFloat16);
            var w = (torch.randn([12, inChannels, .. Enumerable.Repeat(kernel, rank)], g) * 0.1).to(ScalarType.BFloat16);
            Tensor? b = bias ? torch.randn([12], g).to(ScalarType.BFloat16) : null;
            var padding = kernel / 2;
            var (ours, exact) = ConvGradients.AgainstFloat32(rank, x.contiguous(layout), channelsLastWeight ? w.contiguous(layout) : w, b, stride,
                padding, g);
            Assert.True(ours.Y.is_contiguous(layout) && !ours.Y.is_contiguous(), context + ": the result stays channels-last");
            ours.AssertWithinOneBfloat16Rounding(exact, context);
        }
    }

    [OneDnnConvFact]
    public void Forward_serves_channels_last_images_and_leaves_other_layouts_to_aten()
    {
        // Routing, seen by the op profiler: a channels-last bf16 image takes the shim's node; an NCHW one, ATen's.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(33);
        var x = torch.randn([2, 8, 6, 6], g).to(ScalarType.BFloat16);
        var w = (torch.randn([8, 8, 3, 3], g) * 0.1).to(ScalarType.BFloat16);
        bool RanOurs(Tensor input) => torch.profiler.measure(() => F.conv2d(input, w, null, 1, 1).Dispose())
            .Any(op => op.Name == "dt::conv_channels_last");
        Assert.True(RanOurs(x.contiguous(MemoryFormat.ChannelsLast)));
        Assert.False(RanOurs(x));
    }

    [OneDnnConvFact]
    public void Second_derivatives_go_through_aten()
    {
        // create_graph: the gradient must itself be differentiable; the oneDNN path defers to ATen's convolution_backward.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(32);
        foreach (var rank in new[] { 2, 3 })
        {
            var x = torch.randn([1, 4, .. Enumerable.Repeat(4L, rank)], g).to(ScalarType.BFloat16);
            var w = (torch.randn([4, 4, .. Enumerable.Repeat(3L, rank)], g) * 0.2).to(ScalarType.BFloat16);
            double[] SecondOrder(Tensor input)
            {
                var xl = input.detach().requires_grad_();
                var wl = w.detach().requires_grad_();
                var y = F.convolution(xl, wl, null, rank, [1], [1], [1], false, [0], 1, "conv");
                var dx = torch.autograd.grad(y.@float().pow(2).sum(), xl, createGraph: true);
                dx.@float().pow(2).sum().backward();
                return TensorAssert.Values(wl.grad!);
            }
            var ours = SecondOrder(x.contiguous(rank == 2 ? MemoryFormat.ChannelsLast : MemoryFormat.ChannelsLast3d));
            var aten = SecondOrder(x);
            TensorAssert.Close(aten, ours, rtol: 2e-2, atol: 1e-2, context: $"rank {rank}: d/dw of |d/dx|²");
        }
    }
}
