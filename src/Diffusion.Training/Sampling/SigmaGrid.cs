using Diffusion.Training.Names;

namespace Diffusion.Training.Sampling;

/// <summary>How the σ-space samplers space their noise levels.</summary>
public enum SigmaGridKind { Karras, Uniform, LogSnr }

/// <summary>
/// Noise-level grids for the σ-space samplers (k-diffusion's <c>get_sigmas_*</c>, crowsonkb/k-diffusion @4601bf0,
/// sampling.py): <c>steps</c> descending levels from σ_max to σ_min and a final σ = 0 appended, so <c>steps</c> is the
/// number of intervals (EDM's 18 Heun steps are 35 NFE).
/// </summary>
public static class SigmaGrids
{
    /// <summary>The names of <c>--grid</c>.</summary>
    public static readonly NameList<SigmaGridKind> Names = new("σ grid",
        new(SigmaGridKind.Karras, "karras", "Karras et al. 2022 eq. 5, ρ = 7"),
        new(SigmaGridKind.Uniform, "uniform", "uniform in the process's time t, mapped to σ(t)", "uniform-t"),
        new(SigmaGridKind.LogSnr, "logsnr", "uniform in log-SNR λ = −log σ", "uniform-logsnr"));

    /// <summary>
    /// Karras et al. 2022 eq. 5 (k-diffusion's <c>get_sigmas_karras</c>):
    /// σ_i = (σ_max^{1/ρ} + i/(n − 1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0 … n − 1, then 0.
    /// </summary>
    public static double[] Karras(int steps, double sigmaMin, double sigmaMax, double rho = 7)
    {
        Check(steps);
        var min = Math.Pow(sigmaMin, 1 / rho);
        var max = Math.Pow(sigmaMax, 1 / rho);
        return Ramp(steps).Select(r => Math.Pow(max + r * (min - max), rho)).Append(0).ToArray();
    }

    /// <summary>λ = −log σ linear from −log σ_max to −log σ_min (k-diffusion's <c>get_sigmas_exponential</c>), then 0.</summary>
    public static double[] LogSnr(int steps, double sigmaMin, double sigmaMax)
    {
        Check(steps);
        var (a, b) = (Math.Log(sigmaMax), Math.Log(sigmaMin));
        return Ramp(steps).Select(r => Math.Exp(a + r * (b - a))).Append(0).ToArray();
    }

    /// <summary>t linear from t_max to t_min, mapped through σ(t) (k-diffusion's <c>DiscreteSchedule.get_sigmas</c>, or dpm-solver's time-uniform), then 0.</summary>
    public static double[] UniformTime(int steps, SigmaSchedule schedule) => UniformTime(steps, schedule, schedule.TimeMax, schedule.TimeMin);

    /// <summary>t linear from <paramref name="timeMax"/> to <paramref name="timeMin"/>, mapped through σ(t), then 0.</summary>
    public static double[] UniformTime(int steps, SigmaSchedule schedule, double timeMax, double timeMin)
    {
        Check(steps);
        return Ramp(steps).Select(r => schedule.Sigma(timeMax + r * (timeMin - timeMax))).Append(0).ToArray();
    }

    /// <summary>
    /// The grid of <paramref name="kind"/> from <paramref name="sigmaMax"/> to <paramref name="sigmaMin"/> (default: the
    /// schedule's σ(t_max) and σ(t_min)); <paramref name="rho"/> is the Karras exponent (default 7). A uniform-t grid with
    /// overridden ends runs between their times t(σ).
    /// </summary>
    public static double[] Make(SigmaGridKind kind, int steps, SigmaSchedule schedule, double? sigmaMin = null, double? sigmaMax = null, double? rho = null)
    {
        var (min, max) = (sigmaMin ?? schedule.SigmaMin, sigmaMax ?? schedule.SigmaMax);
        if (!(min > 0 && max > min)) throw new ArgumentException($"the σ grid needs 0 < σ_min < σ_max (got σ_min {min}, σ_max {max})");
        if (rho is <= 0) throw new ArgumentException($"the Karras grid needs ρ > 0 (got {rho})");
        return kind switch
        {
            SigmaGridKind.Karras => Karras(steps, min, max, rho ?? 7),
            SigmaGridKind.LogSnr => LogSnr(steps, min, max),
            SigmaGridKind.Uniform when sigmaMin is null && sigmaMax is null => UniformTime(steps, schedule),
            SigmaGridKind.Uniform => UniformTime(steps, schedule, schedule.Time(max), schedule.Time(min)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    /// <summary>linspace(0, 1, n); [0] for n = 1.</summary>
    private static IEnumerable<double> Ramp(int n) => Enumerable.Range(0, n).Select(i => n == 1 ? 0 : (double)i / (n - 1));

    private static void Check(int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one step");
    }
}
