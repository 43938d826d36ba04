using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// float32 SiLU runs on the shim's own vectorised kernels (forward and backward); these check them against the
/// float64 ATen computation over the whole float range, and that layout and threading do not change results.
/// </summary>
public class FastSiluTests
{
    private static (double[] Value, double[] Grad) SiluAndGrad(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var leaf = x.detach().requires_grad_();
        var y = F.silu(leaf);
        y.sum().backward();
        return (TensorAssert.Values(y.detach()), TensorAssert.Values(leaf.grad!));
    }

    [Fact]
    public void Float32_value_and_gradient_match_float64_from_minus_to_plus_100()
    {
        using var scope = torch.NewDisposeScope();
        var x64 = torch.linspace(-100, 100, 400_001, ScalarType.Float64);
        var (value32, grad32) = SiluAndGrad(x64.to(ScalarType.Float32));
        var (value64, grad64) = SiluAndGrad(x64.to(ScalarType.Float32).to(ScalarType.Float64)); // same inputs, exact maths
        TensorAssert.Close(value64, value32, rtol: 1e-6, atol: 1e-30, context: "silu");
        // silu' is bounded by 1.1 and crosses zero near x = −1.28, where float32 cancellation costs relative accuracy:
        // hold the gradient to 1 ulp of 1 absolute as well as 2e-6 relative.
        TensorAssert.Close(grad64, grad32, rtol: 2e-6, atol: 1.2e-7, context: "silu backward");
    }

    [Fact]
    public void Strided_input_gives_what_its_contiguous_copy_gives()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var x = torch.randn([64, 48], g) * 4;
        Assert.Equal(TensorAssert.Values(F.silu(x.contiguous()).transpose(0, 1)), TensorAssert.Values(F.silu(x.transpose(0, 1))));
    }

    [Fact]
    public void Two_threads_compute_bitwise_what_one_does()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var x = torch.randn([8, 32, 28, 28], g) * 3; // several parallel chunks
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            var one = SiluAndGrad(x);
            torch.set_num_threads(2);
            var two = SiluAndGrad(x);
            Assert.Equal(one.Value, two.Value);
            Assert.Equal(one.Grad, two.Grad);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void Infinities_nan_and_underflow_give_what_aten_gives()
    {
        // PyTorch 1.13: silu([-inf, inf, nan, 0, -100]) = [nan, inf, nan, 0, -0], gradient [nan, nan, nan, 0.5, -0].
        using var scope = torch.NewDisposeScope();
        var (value, grad) = SiluAndGrad(torch.tensor(new[] { float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -100f }));
        Assert.Equal([double.NaN, double.PositiveInfinity, double.NaN, 0, -0.0], value);
        Assert.Equal([double.NaN, double.NaN, double.NaN, 0.5, -0.0], grad);
        Assert.True(double.IsNegative(value[4]) && double.IsNegative(grad[4]), "−0 keeps its sign");
    }
}
