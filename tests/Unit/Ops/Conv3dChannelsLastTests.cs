using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>A 3-D convolution whose bf16 channels-last volumes go to oneDNN directly instead of through ATen's reorders.</summary>
public sealed class OneDnnConv3dFactAttribute : FactAttribute
{
    public OneDnnConv3dFactAttribute()
    {
        if (!torch.conv3d_channels_last())
            Skip = "the shim was built without oneDNN's headers (sudo apt-get install libdnnl-dev; ./bootstrap.sh installs it) or DIFFUSION_CONV3D=aten";
    }
}

/// <summary>
/// The shim's oneDNN 3-D convolution on bfloat16 channels-last volumes (README, Precision) against ATen's float32
/// convolution of the same bfloat16 values: the forward and every gradient, strides 1 and 2, with and without bias, and
/// the create_graph path.
/// </summary>
public class Conv3dChannelsLastTests
{
    private static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return (a - e).pow(2).sum().sqrt().item<double>() / e.pow(2).sum().sqrt().item<double>();
    }

    private sealed record Result(Tensor Y, Tensor Dx, Tensor Dw, Tensor? Db);

    private static Result Run(Tensor x, Tensor w, Tensor? b, long stride, Tensor dy)
    {
        var xl = x.detach().requires_grad_();
        var wl = w.detach().requires_grad_();
        var bl = b?.detach().requires_grad_();
        var y = F.conv3d(xl, wl, bl, stride, 1);
        y.backward(dy.to(y.dtype));
        return new(y.detach(), xl.grad!, wl.grad!, bl?.grad);
    }

    [OneDnnConv3dFact]
    public void Forward_and_gradients_match_float32_aten_on_the_same_bfloat16_values()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(31);
        foreach (var inChannels in new long[] { 8, 1 }) // one channel: a U-Net's first convolution (both layouts at once)
        foreach (var stride in new long[] { 1, 2 })
            foreach (var bias in new[] { true, false })
            {
                var context = $"{inChannels} input channels, stride {stride}, bias {bias}";
                var x = torch.randn([2, inChannels, 5, 6, 7], g).to(ScalarType.BFloat16);
                var w = (torch.randn([12, inChannels, 3, 3, 3], g) * 0.1).to(ScalarType.BFloat16);
                Tensor? b = bias ? torch.randn([12], g).to(ScalarType.BFloat16) : null;
                var stored = x.contiguous(MemoryFormat.ChannelsLast3d);
                var outShape = F.conv3d(x.to(ScalarType.Float32), w.to(ScalarType.Float32), null, stride, 1).shape;
                var dy = torch.randn(outShape, g);
                var ours = Run(stored, w, b, stride, dy.to(ScalarType.BFloat16));
                var exact = Run(x.to(ScalarType.Float32), w.to(ScalarType.Float32), b?.to(ScalarType.Float32), stride, dy.to(ScalarType.BFloat16).to(ScalarType.Float32));
                Assert.Equal(ScalarType.BFloat16, ours.Y.dtype);
                Assert.True(ours.Y.is_contiguous(MemoryFormat.ChannelsLast3d) && !ours.Y.is_contiguous(), context + ": the result stays channels-last");
                Assert.Equal(ScalarType.BFloat16, ours.Dx.dtype);
                Assert.Equal(ScalarType.BFloat16, ours.Dw.dtype);
                // One rounding of each result to bfloat16 (unit roundoff 2⁻⁸): about 2⁻⁸/√3 of its norm.
                Assert.InRange(RelativeError(ours.Y, exact.Y), 0, 4e-3);
                Assert.InRange(RelativeError(ours.Dx, exact.Dx), 0, 4e-3);
                Assert.InRange(RelativeError(ours.Dw, exact.Dw), 0, 4e-3);
                if (bias) Assert.InRange(RelativeError(ours.Db!, exact.Db!), 0, 4e-3);
            }
    }

    [OneDnnConv3dFact]
    public void Second_derivatives_go_through_aten()
    {
        // create_graph: the gradient must itself be differentiable; the oneDNN path defers to ATen's convolution_backward.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(32);
        var x = torch.randn([1, 4, 4, 4, 4], g).to(ScalarType.BFloat16);
        var w = (torch.randn([4, 4, 3, 3, 3], g) * 0.2).to(ScalarType.BFloat16);
        double[] SecondOrder(Tensor input)
        {
            var xl = input.detach().requires_grad_();
            var wl = w.detach().requires_grad_();
            var dx = torch.autograd.grad(F.conv3d(xl, wl, null, 1, 1).@float().pow(2).sum(), xl, createGraph: true);
            dx.@float().pow(2).sum().backward();
            return TensorAssert.Values(wl.grad!);
        }
        var ours = SecondOrder(x.contiguous(MemoryFormat.ChannelsLast3d));
        var aten = SecondOrder(x);
        TensorAssert.Close(aten, ours, rtol: 2e-2, atol: 1e-2, context: "d/dw of |d/dx|²");
    }
}
