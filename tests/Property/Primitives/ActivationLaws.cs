using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck.Fluent;
using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Property.Tests;

public class ActivationLaws
{
    private static readonly FsCheck.Gen<double[]> Xs = Law.Real(-20, 20).ArrayOf().Where(a => a.Length > 0);

    [Fact]
    public void SiLU_lies_between_min0x_and_max0x()
    {
        Law.Holds(Xs, xs =>
        {
            var x = Law.Vector(xs);
            var y = Activation.SiLU.Apply(x);
            return y.ge(x.minimum(torch.zeros_like(x))).all().item<bool>() && y.le(x.maximum(torch.zeros_like(x))).all().item<bool>();
        });
    }

    [Fact]
    public void SiLU_is_bounded_below_by_its_minimum_at_minus_1_27846()
    {
        Law.Holds(Xs, xs => Activation.SiLU.Apply(Law.Vector(xs)).min().item<double>() >= Activations.SiLUMin - 1e-6);
        using var scope = torch.NewDisposeScope();
        var at = Activation.SiLU.Apply(torch.tensor([(float)Activations.SiLUArgMin])).item<double>();
        Assert.Equal(Activations.SiLUMin, at, 6);
        // It is the minimum: neighbours on both sides are higher.
        var near = Activation.SiLU.Apply(torch.tensor([(float)(Activations.SiLUArgMin - 0.01), (float)(Activations.SiLUArgMin + 0.01)])).ToArray<float>();
        Assert.All(near, v => Assert.True(v > at));
        Assert.Equal(0f, Activation.SiLU.Apply(torch.zeros(1)).item<float>());
    }

    [Fact]
    public void SiLU_derivative_from_autograd_matches_closed_form()
    {
        Law.Holds(Xs, xs =>
        {
            var x = torch.tensor(xs.ToArray(), [xs.Length]).requires_grad_();
            F.silu(x).sum().backward();
            var s = x.detach().sigmoid();
            var expected = s * (x.detach() * (1.0 - s) + 1.0); // σ(x)(1 + x(1 − σ(x)))
            var grad = x.grad!;
            // Non-zero for negative x wherever float64 represents σ(x) (|x| ≤ 20 here).
            var negativeAlive = grad.masked_select(x.detach().lt(0)).ne(0).all().item<bool>();
            return grad.allclose(expected, 1e-9, 1e-12) && negativeAlive;
        });
        using var scope = torch.NewDisposeScope();
        var z = torch.zeros(1).requires_grad_();
        F.silu(z).sum().backward();
        Assert.Equal(0.5f, z.grad!.item<float>());
    }

    [Fact]
    public void SiLU_approaches_identity_for_large_x()
    {
        // x − SiLU(x) = x·σ(−x) ≤ x·e^{−x}: below 1e-3 once x ≥ 10.
        Law.Holds(Law.Real(10, 1000), x => Math.Abs(Activation.SiLU.Apply(torch.tensor([x])).item<double>() - x) <= x * Math.Exp(-x) + 1e-12);
    }

    [Fact]
    public void GELU_bounds_and_tanh_approximation_error()
    {
        Law.Holds(Xs, xs =>
        {
            var x = torch.tensor(xs.ToArray(), [xs.Length]);
            var exact = Activation.GELU.Apply(x);
            var approx = Activation.GELUTanh.Apply(x);
            var zero = torch.zeros_like(x);
            var bounded = exact.ge(x.minimum(zero)).all().item<bool>() && exact.le(x.maximum(zero)).all().item<bool>()
                && exact.min().item<double>() >= -0.17;                 // GELU's minimum is ≈ −0.16997 at x ≈ −0.7518
            return bounded && Law.Max(exact - approx) < Activations.GeluTanhMaxError;
        });
    }

    [Fact]
    public void ReLU_is_max0x()
    {
        Law.Holds(Xs, xs =>
        {
            var x = Law.Vector(xs);
            return Activation.ReLU.Apply(x).equal(x.maximum(torch.zeros_like(x)));
        });
    }
}
