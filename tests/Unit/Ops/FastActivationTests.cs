using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// float32 and bfloat16 SiLU and tanh-GELU run on the shim's own vectorised kernels (forward and backward); these check
/// them against the float64 ATen computation over the whole float range, and that layout and threading do not change results.
/// </summary>
public class FastActivationTests
{
    private static Tensor Apply(string op, Tensor x) => op == "silu" ? F.silu(x) : F.gelu(x, "tanh");

    private static (double[] Value, double[] Grad) ValueAndGrad(string op, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var leaf = x.detach().requires_grad_();
        var y = Apply(op, leaf);
        y.sum().backward();
        return (TensorAssert.Values(y.detach()), TensorAssert.Values(leaf.grad!));
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Float32_value_and_gradient_match_float64_from_minus_to_plus_100(string op)
    {
        using var scope = torch.NewDisposeScope();
        var x64 = torch.linspace(-100, 100, 400_001, ScalarType.Float64);
        var (value32, grad32) = ValueAndGrad(op, x64.to(ScalarType.Float32));
        var exact = x64.to(ScalarType.Float32).to(ScalarType.Float64);                    // the same inputs, in float64
        var (value64, grad64) = ValueAndGrad(op, exact);                                   // ATen's float64 kernels
        // ATen's 0.5x(1 + tanh u) cancels to 0 below x ≈ −8 even in float64; the identity 1 + tanh u = 2σ(2u) does not.
        if (op == "gelu_tanh") value64 = TensorAssert.Values(exact * (exact + exact.pow(3) * 0.044715).mul(2 * Math.Sqrt(2 / Math.PI)).sigmoid());
        // SiLU's exponent −x is exact; GELU's v = 2√(2/π)(x + 0.044715x³) is rounded, and σ(v) for v ≪ 0 amplifies
        // that by |v| (up to ~60 where the value is still a normal float), so its tail gets 1e-5.
        TensorAssert.Close(value64, value32, rtol: op == "silu" ? 1e-6 : 1e-5, atol: 1e-30, context: op);
        // Both derivatives are bounded (|f′| < 1.13) and cross zero near x = −1.28 and −0.75, where float32 cancellation
        // costs relative accuracy: hold the gradient to about 1 ulp of 1 absolute as well as 2e-6 relative.
        TensorAssert.Close(grad64, grad32, rtol: 2e-6, atol: 1.2e-7, context: op + " backward");
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Bfloat16_value_and_gradient_are_the_float64_ones_rounded_once(string op)
    {
        // The bf16 path (README, Precision) computes in float32 and rounds once to bfloat16 (unit roundoff 2⁻⁸), value
        // and gradient; the inputs: every bfloat16 between −100 and 100 (34,258 of them, subnormals included).
        using var scope = torch.NewDisposeScope();
        var magnitudes = Enumerable.Range(0, 0x42C9).Select(bits => BitConverter.Int32BitsToSingle(bits << 16)); // 0 … 100 (0x42C8)
        var x = torch.tensor(magnitudes.SelectMany(m => new[] { m, -m }).ToArray()).to(ScalarType.BFloat16);
        var (value, grad) = ValueAndGrad(op, x);
        var exact = x.to(ScalarType.Float64);
        var value64 = TensorAssert.Values(op == "silu" ? exact * exact.sigmoid() : exact * (exact + exact.pow(3) * 0.044715).mul(2 * Math.Sqrt(2 / Math.PI)).sigmoid());
        var (_, grad64) = ValueAndGrad(op, exact);
        const double u = 1.0 / 256;
        TensorAssert.Close(value64, value, rtol: u, atol: 1e-30, context: op + " bf16");
        TensorAssert.Close(grad64, grad, rtol: u, atol: 1e-6, context: op + " bf16 backward");
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Channels_last_input_stays_channels_last_with_the_same_values(string op)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var x = (torch.randn([4, 16, 5, 3], g) * 3).to(ScalarType.BFloat16);
        var stored = x.contiguous(MemoryFormat.ChannelsLast);
        var y = Apply(op, stored);
        Assert.True(y.is_contiguous(MemoryFormat.ChannelsLast) && !y.is_contiguous());
        Assert.Equal(TensorAssert.Values(Apply(op, x)), TensorAssert.Values(y));
        Assert.Equal(ValueAndGrad(op, x).Grad, ValueAndGrad(op, stored).Grad);
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Strided_input_gives_what_its_contiguous_copy_gives(string op)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var x = torch.randn([64, 48], g) * 4;
        Assert.Equal(TensorAssert.Values(Apply(op, x).transpose(0, 1)), TensorAssert.Values(Apply(op, x.transpose(0, 1))));
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Two_threads_compute_bitwise_what_one_does(string op)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var x = torch.randn([8, 32, 28, 28], g) * 3; // several parallel chunks
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            var one = ValueAndGrad(op, x);
            torch.set_num_threads(2);
            var two = ValueAndGrad(op, x);
            Assert.Equal(one.Value, two.Value);
            Assert.Equal(one.Grad, two.Grad);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Theory]
    [InlineData("silu", true)]
    [InlineData("gelu_tanh", false)]
    public void Infinities_nan_and_underflow_give_what_aten_gives(string op, bool negativeZeroGrad)
    {
        // PyTorch 1.13 on [-inf, inf, nan, 0, -100]: values [nan, inf, nan, 0, -0]; gradients [nan, nan, nan, 0.5, ∓0]
        // (−0 for silu, +0 for tanh-GELU).
        using var scope = torch.NewDisposeScope();
        var (value, grad) = ValueAndGrad(op, torch.tensor(new[] { float.NegativeInfinity, float.PositiveInfinity, float.NaN, 0f, -100f }));
        Assert.Equal([double.NaN, double.PositiveInfinity, double.NaN, 0, 0], value);
        Assert.Equal([double.NaN, double.NaN, double.NaN, 0.5, 0], grad);
        Assert.True(double.IsNegative(value[4]), "silu(−100) is −0");
        Assert.Equal(negativeZeroGrad, double.IsNegative(grad[4]));
    }
    /// <summary>
    /// Second derivatives (create_graph) of the float32 activations equal those of the composition x·σ(x) (SiLU) and
    /// x·σ(2u) (tanh-GELU) built from differentiable ATen ops — ATen 1.13's silu_backward itself has no derivative.
    /// </summary>
    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_tanh")]
    public void Double_backward_matches_the_composition(string op)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.linspace(-6, 6, 97, ScalarType.Float32);
        double[] SecondDerivative(Func<Tensor, Tensor> f)
        {
            var leaf = x.detach().requires_grad_();
            var dy = torch.autograd.grad(f(leaf).sum(), leaf, createGraph: true);           // f′(x)
            dy.sum().backward();                                                              // f″(x)
            return TensorAssert.Values(leaf.grad!);
        }
        var ours = SecondDerivative(v => Apply(op, v));
        var composed = SecondDerivative(v => op == "silu" ? v * v.sigmoid() : v * (v + v.pow(3) * 0.044715).mul(2 * Math.Sqrt(2 / Math.PI)).sigmoid());
        TensorAssert.Close(composed, ours, rtol: 1e-4, atol: 1e-5, context: op + " second derivative");
    }
}
