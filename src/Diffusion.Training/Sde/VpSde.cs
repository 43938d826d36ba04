using Diffusion.Torch;

namespace Diffusion.Training.Sde;

/// <summary>
/// Variance-preserving SDE, the continuous limit of DDPM (Song et al. 2021 eq. 11):
/// dx = −½β(t)x dt + √β(t) dw with β(t) = β_min + t(β_max − β_min).
/// p_t(x | x₀) = N(x₀·e^{−½∫₀ᵗβ}, (1 − e^{−∫₀ᵗβ})·I), ∫₀ᵗβ = β_min·t + ½t²(β_max − β_min) (eq. 29).
/// </summary>
public sealed record VpSde(double BetaMin = 0.1, double BetaMax = 20) : ForwardSde
{
    public override ProcessKind Kind => ProcessKind.Vp;

    public override double PriorStd => 1;

    public Tensor Beta(Tensor t) => t * (BetaMax - BetaMin) + BetaMin;

    /// <summary>log α(t) = −¼t²(β_max − β_min) − ½tβ_min.</summary>
    public Tensor LogMeanCoefficient(Tensor t) => t.square() * (-0.25 * (BetaMax - BetaMin)) - t * (0.5 * BetaMin);

    public override Tensor Drift(Tensor x, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return (Broadcast(Beta(t), x) * x * -0.5).MoveToOuterDisposeScope();
    }

    public override Tensor Diffusion(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return Beta(t).sqrt().MoveToOuterDisposeScope();
    }

    public override Tensor MeanCoefficient(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return LogMeanCoefficient(t).exp().MoveToOuterDisposeScope();
    }

    public override Tensor Std(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return (-(LogMeanCoefficient(t) * 2).expm1()).sqrt().MoveToOuterDisposeScope();
    }

    public override (double Alpha, double Sigma) Marginal(double t)
    {
        var log = -0.25 * t * t * (BetaMax - BetaMin) - 0.5 * t * BetaMin;
        return (Math.Exp(log), Math.Sqrt(-(Math.Exp(2 * log) - 1)));
    }

    /// <summary>
    /// DDPM's discretisation with β_i = β_min/N + i/(N−1)·(β_max − β_min)/N (score_sde: f = √(1−β_i)·x − x, G = √β_i),
    /// i = round-down of t·(N − 1).
    /// </summary>
    public override (Tensor F, Tensor G) Discretize(Tensor x, Tensor t, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var beta = DiscreteBeta(t, steps);                                               // (N)
        var f = Broadcast((-beta + 1).sqrt() - 1, x) * x;
        var g = beta.sqrt();
        scope.MoveToOuter(f, g);
        return (f, g);
    }

    /// <summary>β_i of the N-step chain at the index t·(N − 1) (truncated, as score_sde's <c>.long()</c>).</summary>
    public Tensor DiscreteBeta(Tensor t, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var i = (t * (steps - 1)).trunc();
        var beta = (BetaMin + i * ((BetaMax - BetaMin) / Math.Max(1, steps - 1))) / steps;
        return beta.MoveToOuterDisposeScope();
    }
}
