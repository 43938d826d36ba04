using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// torch.autograd.grad: vector–Jacobian products vᵀ∂y/∂x against float64 central differences and against backward(),
/// retain/create graph, and its failures as <see cref="TorchException"/>s.
/// </summary>
public class AutogradGradTests
{
    // A non-elementwise map R^4 → R^3: y = tanh(A x) ⊙ (x₀..₂)² + sin(x₁..₃).
    private static Tensor F(Tensor x, Tensor a) => (a.matmul(x)).tanh() * x.narrow(0, 0, 3).square() + x.narrow(0, 1, 3).sin();

    /// <summary>vᵀJ by central differences: ∂/∂xᵢ ⟨v, f(x)⟩.</summary>
    private static double[] NumericVjp(Func<Tensor, Tensor> f, double[] x, Tensor v, double h = 1e-6)
    {
        using var scope = torch.NewDisposeScope();
        var result = new double[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var plus = (double[])x.Clone();
            var minus = (double[])x.Clone();
            plus[i] += h;
            minus[i] -= h;
            var fp = (f(torch.tensor(plus)) * v).sum().item<double>();
            var fm = (f(torch.tensor(minus)) * v).sum().item<double>();
            result[i] = (fp - fm) / (2 * h);
        }
        return result;
    }

    [Fact]
    public void Vjp_matches_float64_finite_differences()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var a = torch.randn([3, 4], g, ScalarType.Float64);
        var x0 = torch.randn([4], g, ScalarType.Float64).ToArray<double>();
        var v = torch.randn([3], g, ScalarType.Float64);
        var x = torch.tensor(x0).requires_grad_();
        var vjp = torch.autograd.grad(F(x, a), x, v);
        Assert.Equal([4L], vjp.shape);
        Assert.False(vjp.requires_grad);
        TensorAssert.Close(NumericVjp(z => F(z, a), x0, v), vjp, rtol: 1e-7, atol: 1e-8);
    }

    [Fact]
    public void Grad_equals_backward_and_leaves_dot_grad_alone()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var a = torch.randn([3, 4], g, ScalarType.Float64);
        var v = torch.randn([3], g, ScalarType.Float64);
        var x = torch.randn([4], g, ScalarType.Float64).requires_grad_();
        var vjp = torch.autograd.grad(F(x, a), x, v);
        Assert.Null(x.grad);
        F(x, a).backward(v);
        TensorAssert.Close(x.grad!.ToArray<double>(), vjp, rtol: 1e-12, atol: 1e-14);
    }

    [Fact]
    public void Several_outputs_and_inputs_sum_their_products()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        var w = torch.tensor(3.0, -1.0).requires_grad_();
        var y1 = x * w;          // ∂/∂x = w, ∂/∂w = x
        var y2 = (x * x).sum();  // scalar: implicit grad_output 1; ∂/∂x = 2x
        var grads = torch.autograd.grad([y1, y2], [x, w], [torch.tensor(10.0, 100.0), null]);
        Assert.Equal(new[] { 10 * 3.0 + 2, 100 * -1.0 + 4 }, grads[0].ToArray<double>());
        Assert.Equal(new[] { 10 * 1.0, 100 * 2.0 }, grads[1].ToArray<double>());
    }

    [Fact]
    public void Retain_graph_allows_one_vjp_per_probe_on_one_forward_pass()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0, 3.0).requires_grad_();
        var y = x * x * x;
        var e0 = torch.autograd.grad(y, x, torch.tensor(1.0, 0, 0), retainGraph: true);
        var e2 = torch.autograd.grad(y, x, torch.tensor(0.0, 0, 1));
        Assert.Equal(new[] { 3.0, 0, 0 }, e0.ToArray<double>());
        Assert.Equal(new[] { 0.0, 0, 27 }, e2.ToArray<double>());
        var ex = Assert.Throws<TorchException>(() => torch.autograd.grad(y, x, torch.ones_like(x)));
        Assert.Contains("second time", ex.Message);
    }

    [Fact]
    public void Create_graph_gives_a_differentiable_gradient()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, -2.0).requires_grad_();
        var dy = torch.autograd.grad((x * x * x).sum(), x, createGraph: true); // 3x²
        Assert.True(dy.requires_grad);
        var d2 = torch.autograd.grad(dy.sum(), x);                             // 6x
        Assert.Equal(new[] { 3.0, 12 }, dy.detach().ToArray<double>());
        Assert.Equal(new[] { 6.0, -12 }, d2.ToArray<double>());
    }

    [Fact]
    public void An_input_that_does_not_require_grad_is_a_TorchException()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        var c = torch.tensor(5.0, 6.0);
        var ex = Assert.Throws<TorchException>(() => torch.autograd.grad((x * c).sum(), c));
        Assert.Contains("does not require grad", ex.Message);
        Assert.Contains("autograd.grad", ex.Message);
    }

    [Fact]
    public void A_grad_output_of_the_wrong_shape_is_a_TorchException()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        var ex = Assert.Throws<TorchException>(() => torch.autograd.grad(x * 2, x, torch.ones([3], ScalarType.Float64)));
        Assert.Contains("shape", ex.Message);
    }

    [Fact]
    public void Non_scalar_output_without_grad_output_and_unused_input_are_TorchExceptions()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        var unused = torch.tensor(1.0).requires_grad_();
        var implicitGrad = Assert.Throws<TorchException>(() => torch.autograd.grad(x * 2, x));
        Assert.Contains("scalar outputs", implicitGrad.Message);
        var notUsed = Assert.Throws<TorchException>(() => torch.autograd.grad((x * 2).sum(), unused));
        Assert.Contains("not have been used", notUsed.Message);
        // The binding survives its failures: the next call works.
        Assert.Equal(new[] { 2.0, 2 }, torch.autograd.grad((x * 2).sum(), x).ToArray<double>());
    }

    [Fact]
    public void Argument_counts_are_checked_before_the_native_call()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0).requires_grad_();
        Assert.Throws<ArgumentException>(() => torch.autograd.grad([x * 2], [x], [null, null]));
        Assert.Throws<ArgumentException>(() => torch.autograd.grad([], [x]));
    }
}
