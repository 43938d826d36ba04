using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// A convolution's output and the gradients of ⟨dy, y⟩ for its input, weight and bias, for the tests that hold the shim's
/// convolution paths to ATen's float32 one, and the relative error they compare by.
/// </summary>
internal sealed record ConvGradients(Tensor Y, Tensor Dx, Tensor Dw, Tensor? Db)
{
    public static ConvGradients Of(int rank, Tensor x, Tensor w, Tensor? b, long stride, long padding, Tensor dy)
    {
        var xl = x.detach().requires_grad_();
        var wl = w.detach().requires_grad_();
        var bl = b?.detach().requires_grad_();
        var y = F.convolution(xl, wl, bl, rank, [stride], [padding], [1], false, [0], 1, $"conv{rank}d");
        y.backward(dy.to(y.dtype));
        return new(y.detach(), xl.grad!, wl.grad!, bl?.grad);
    }

    /// <summary>
    /// The shim's result for bf16 x, w and b as given (layout included) and ATen's float32 one on the same values, for a
    /// bf16 output gradient drawn from <paramref name="g"/>.
    /// </summary>
    public static (ConvGradients Ours, ConvGradients Exact) AgainstFloat32(int rank, Tensor x, Tensor w, Tensor? b, long stride, long padding,
        Generator g)
    {
        var outShape = F.convolution(x.to(ScalarType.Float32), w.to(ScalarType.Float32), null, rank, [stride], [padding], [1], false, [0], 1, "conv").shape;
        var dy = torch.randn(outShape, g).to(ScalarType.BFloat16);
        return (Of(rank, x, w, b, stride, padding, dy),
            Of(rank, x.to(ScalarType.Float32), w.to(ScalarType.Float32), b?.to(ScalarType.Float32), stride, padding, dy.to(ScalarType.Float32)));
    }

    /// <summary>
    /// This result against the float32 one on the same values: output, input and weight gradient in bfloat16, each within
    /// one rounding to bfloat16 (unit roundoff 2⁻⁸: about 2⁻⁸/√3 of its norm), the bias gradient too when there is one.
    /// </summary>
    public void AssertWithinOneBfloat16Rounding(ConvGradients exact, string context)
    {
        Assert.Equal(ScalarType.BFloat16, Y.dtype);
        Assert.Equal(ScalarType.BFloat16, Dx.dtype);
        Assert.Equal(ScalarType.BFloat16, Dw.dtype);
        Assert.True(RelativeError(Y, exact.Y) < 4e-3, context + ": forward");
        Assert.True(RelativeError(Dx, exact.Dx) < 4e-3, context + ": input gradient");
        Assert.True(RelativeError(Dw, exact.Dw) < 4e-3, context + ": weight gradient");
        if (exact.Db is not null) Assert.True(RelativeError(Db!, exact.Db) < 4e-3, context + ": bias gradient");
    }

    /// <summary>‖actual − expected‖ / ‖expected‖, in float64.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return (a - e).pow(2).sum().sqrt().item<double>() / e.pow(2).sum().sqrt().item<double>();
    }
}
