using Diffusion.Torch;

namespace Diffusion.Training.Sde;

/// <summary>
/// Sub-VP SDE (Song et al. 2021 eq. 12): the VP drift with diffusion √(β(t)(1 − e^{−2∫₀ᵗβ})), whose marginal
/// variance (1 − e^{−∫₀ᵗβ})² is bounded by the VP one at every t (eq. 30). Same β(t) as <see cref="VpSde"/>.
/// </summary>
public sealed record SubVpSde(double BetaMin = 0.1, double BetaMax = 20) : ForwardSde
{
    private VpSde Vp => new(BetaMin, BetaMax);

    public override ProcessKind Kind => ProcessKind.SubVp;

    public override double PriorStd => 1;

    public override Tensor Drift(Tensor x, Tensor t) => Vp.Drift(x, t);

    public override Tensor Diffusion(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var integral = t * BetaMin + t.square() * (0.5 * (BetaMax - BetaMin));          // ∫₀ᵗβ
        var discount = -(integral * -2).expm1();                                        // 1 − e^{−2∫β}
        return (Vp.Beta(t) * discount).sqrt().MoveToOuterDisposeScope();
    }

    public override Tensor MeanCoefficient(Tensor t) => Vp.MeanCoefficient(t);

    public override Tensor Std(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return (-(Vp.LogMeanCoefficient(t) * 2).expm1()).MoveToOuterDisposeScope();
    }

    public override (double Alpha, double Sigma) Marginal(double t)
    {
        var (alpha, vpSigma) = Vp.Marginal(t);
        return (alpha, vpSigma * vpSigma);
    }
}
