using Diffusion.Torch;

namespace Diffusion.Training.Schedules;

/// <summary>
/// A discrete DDPM noise schedule over <c>Steps</c> steps (Ho et al. 2020): β_i, α_i = 1 − β_i and
/// ᾱ_i = ∏_{j≤i} α_j, so q(x_i | x₀) = N(√ᾱ_i·x₀, (1 − ᾱ_i)·I). The network sees the step index i ∈ [0, Steps).
/// </summary>
public sealed record DdpmSchedule(BetaSchedule Kind, double[] Betas)
{
    public int Steps => Betas.Length;

    public double[] AlphasCumprod { get; } = Cumprod(Betas);

    /// <summary>Linear β from 1e-4 to 0.02 over 1000 steps (Ho et al. 2020 §4).</summary>
    public static DdpmSchedule Linear(int steps = 1000, double betaStart = 1e-4, double betaEnd = 0.02) =>
        new(BetaSchedule.Linear, Enumerable.Range(0, steps).Select(i => betaStart + (betaEnd - betaStart) * i / Math.Max(1, steps - 1)).ToArray());

    /// <summary>
    /// Cosine schedule (Nichol &amp; Dhariwal 2021 eq. 17): ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2),
    /// β_t = 1 − ᾱ(t)/ᾱ(t−1) clipped to 0.999, s = 0.008.
    /// </summary>
    public static DdpmSchedule Cosine(int steps = 1000, double s = 0.008)
    {
        double F(double t) => Math.Pow(Math.Cos((t / steps + s) / (1 + s) * Math.PI / 2), 2);
        return new(BetaSchedule.Cosine, Enumerable.Range(0, steps).Select(i => Math.Min(1 - F(i + 1) / F(i), 0.999)).ToArray());
    }

    /// <summary>The 1000-step schedule of a kind.</summary>
    public static DdpmSchedule Of(BetaSchedule kind) => kind switch
    {
        BetaSchedule.Linear => Linear(),
        BetaSchedule.Cosine => Cosine(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>√ᾱ_i and √(1 − ᾱ_i) for int64 step indices (N), as float32 (N) tensors.</summary>
    public (Tensor Alpha, Tensor Sigma) Marginal(Tensor steps)
    {
        using var scope = torch.NewDisposeScope();
        var table = torch.tensor(AlphasCumprod.Select(a => (float)a).ToArray(), [Steps]);
        var bar = table.index_select(0, steps.@long());                                // (N)
        var alpha = bar.sqrt();
        var sigma = (-bar + 1).sqrt();
        scope.MoveToOuter(alpha, sigma);
        return (alpha, sigma);
    }

    /// <summary>
    /// <paramref name="count"/> step indices spread evenly over [0, Steps), ascending, always including 0 and Steps − 1
    /// (the respacing of Nichol &amp; Dhariwal §4 and DDIM §4.2).
    /// </summary>
    public int[] Respaced(int count)
    {
        if (count < 1 || count > Steps) throw new ArgumentOutOfRangeException(nameof(count), count, $"need 1 … {Steps} sampling steps");
        if (count == 1) return [Steps - 1];
        return Enumerable.Range(0, count).Select(k => (int)Math.Round((double)k * (Steps - 1) / (count - 1))).Distinct().ToArray();
    }

    private static double[] Cumprod(double[] betas)
    {
        var result = new double[betas.Length];
        var product = 1.0;
        for (var i = 0; i < betas.Length; i++) result[i] = product *= 1 - betas[i];
        return result;
    }
}
