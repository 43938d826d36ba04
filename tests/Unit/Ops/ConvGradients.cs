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

    /// <summary>‖actual − expected‖ / ‖expected‖, in float64.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return (a - e).pow(2).sum().sqrt().item<double>() / e.pow(2).sum().sqrt().item<double>();
    }
}
