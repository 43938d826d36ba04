using Diffusion.Torch;

namespace Diffusion.Training.Sde;

/// <summary>
/// Variance-exploding SDE, the continuous limit of SMLD / NCSN (Song et al. 2021 eq. 9 and 30):
/// dx = σ(t)·√(2 ln(σ_max/σ_min)) dw with σ(t) = σ_min(σ_max/σ_min)^t, so p_t(x | x₀) = N(x₀, σ(t)²·I).
/// σ_max should be about the largest distance between training points (Song &amp; Ermon 2020, "Improved
/// Techniques", technique 1), so the prior covers the data: 50 for 32×32 images, and for 2-D sets
/// <see cref="SigmaMaxFor"/> measures it from the data.
/// </summary>
public sealed record VeSde(double SigmaMin = 0.01, double SigmaMax = 50) : ForwardSde
{
    public override ProcessKind Kind => ProcessKind.Ve;

    public override double PriorStd => SigmaMax;

    private double LogRatio => Math.Log(SigmaMax / SigmaMin);

    public Tensor Sigma(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return ((t * LogRatio).exp() * SigmaMin).MoveToOuterDisposeScope();
    }

    public override Tensor Drift(Tensor x, Tensor t) => torch.zeros_like(x);

    public override Tensor Diffusion(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return (Sigma(t) * Math.Sqrt(2 * LogRatio)).MoveToOuterDisposeScope();
    }

    public override Tensor MeanCoefficient(Tensor t) => torch.ones_like(t);

    public override Tensor Std(Tensor t) => Sigma(t);

    public override (double Alpha, double Sigma) Marginal(double t) => (1, SigmaMin * Math.Exp(t * LogRatio));

    /// <summary>
    /// SMLD's discretisation over the geometric ladder σ_i = exp(linspace(ln σ_min, ln σ_max, N))ᵢ:
    /// f = 0, G = √(σ_i² − σ_{i−1}²) with σ_{−1} = 0 (score_sde).
    /// </summary>
    public override (Tensor F, Tensor G) Discretize(Tensor x, Tensor t, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var i = (t * (steps - 1)).trunc();                                               // (N)
        var step = steps > 1 ? LogRatio / (steps - 1) : 0;
        var sigma = (i * step).exp() * SigmaMin;
        var previous = torch.where(i.eq(0), torch.zeros_like(sigma), ((i - 1) * step).exp() * SigmaMin);
        var f = torch.zeros_like(x);
        var g = (sigma.square() - previous.square()).sqrt();
        scope.MoveToOuter(f, g);
        return (f, g);
    }

    /// <summary>
    /// σ_max for a data set: the largest pairwise Euclidean distance within <paramref name="data"/> (N, …)
    /// (use a sample of a few thousand points; the cost is N²).
    /// </summary>
    public static double SigmaMaxFor(Tensor data)
    {
        using var scope = torch.NewDisposeScope();
        var x = data.reshape(data.shape[0], -1).@double();                              // (N, D)
        var sq = x.square().sum(1);                                                      // (N)
        var d2 = sq.unsqueeze(1) + sq.unsqueeze(0) - x.matmul(x.T) * 2;                 // (N, N)
        return Math.Sqrt(Math.Max(0, d2.max().item<double>()));
    }
}
