using Diffusion.Torch;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// The denoiser D(x; σ) ≈ E[x₀ | x] of the EDM / k-diffusion parametrisation x = x₀ + σ·n (Karras et al. 2022 §2,
/// the variance-exploding form): (N, …) inputs at one noise level σ &gt; 0 → (N, …) estimates of x₀.
/// </summary>
public delegate Tensor DenoiserFn(Tensor x, double sigma);

/// <summary>
/// The σ(t) correspondence between a trained process and the variance-exploding form. A process with
/// x_t = α(t)·x₀ + s(t)·ε is x_σ = x_t/α(t) = x₀ + σ·ε with σ(t) = s(t)/α(t) (Karras et al. 2022 eq. 4 with
/// s(t) there our α(t)); conversely at a noise level σ the network sees x_t = α·x_σ at the time t(σ).
/// Times are the process's own: t ∈ [ε, 1] for an SDE, the (fractional) step index for DDPM.
/// </summary>
public abstract record SigmaSchedule
{
    /// <summary>The earliest and latest times a sampler visits (ε and 1; 0 and Steps − 1 for DDPM).</summary>
    public abstract double TimeMin { get; }

    public abstract double TimeMax { get; }

    /// <summary>σ(t).</summary>
    public abstract double Sigma(double time);

    /// <summary>t(σ), the inverse of <see cref="Sigma"/>.</summary>
    public abstract double Time(double sigma);

    /// <summary>α at noise level σ (then s = α·σ).</summary>
    public abstract double Alpha(double sigma);

    /// <summary>The network's time input (N) for the process time t (see <see cref="NetworkTime"/>).</summary>
    public abstract Tensor NetworkInput(double time, long n, ScalarType dtype);

    public double SigmaMin => Sigma(TimeMin);

    public double SigmaMax => Sigma(TimeMax);

    /// <summary>
    /// The correspondence for a process; SDE models are sampled on t ∈ [<paramref name="eps"/>, 1], EDM on its whole
    /// range σ_min = σ(0) = 0.002 … σ_max (its network is defined at every σ &gt; 0).
    /// </summary>
    public static SigmaSchedule For(DiffusionProcess process, double eps = 1e-3, bool quantize = false) => process.Sde switch
    {
        VeSde ve when process.Kind == ProcessKind.Edm => new VeSigmas(ve, 0),
        VpSde vp => new VpSigmas(vp.BetaMin, vp.BetaMax, eps, SubVp: false),
        SubVpSde sub => new VpSigmas(sub.BetaMin, sub.BetaMax, eps, SubVp: true),
        VeSde ve => new VeSigmas(ve, eps),
        null => new DdpmSigmas(process.Schedule!, quantize),
        var other => throw new ArgumentOutOfRangeException(nameof(process), other, "no σ(t) correspondence for this SDE"),
    };
}

/// <summary>
/// VP and sub-VP with linear β(t) = β_min + t·Δ, Δ = β_max − β_min, B(t) = ∫₀ᵗβ = β_min·t + ½Δt², α = e^{−B/2}.
/// VP: s² = 1 − α², so σ² = e^{B} − 1 and B = log(1 + σ²), α = 1/√(1 + σ²).
/// Sub-VP: s = 1 − α², so σ = (1 − α²)/α, i.e. α² + σα − 1 = 0, α = 2/(σ + √(σ² + 4)), B = −2 log α.
/// Either way t(σ) is the positive root of ½Δt² + β_min·t − B = 0, t = 2B/(β_min + √(β_min² + 2ΔB))
/// (the cancellation-free form; dpm-solver's <c>NoiseScheduleVP.inverse_lambda</c> solves the same quadratic).
/// </summary>
public sealed record VpSigmas(double BetaMin, double BetaMax, double Eps, bool SubVp) : SigmaSchedule
{
    public override double TimeMin => Eps;

    public override double TimeMax => ForwardSde.T;

    private double Integral(double t) => BetaMin * t + 0.5 * t * t * (BetaMax - BetaMin);

    public override double Sigma(double time)
    {
        var b = Integral(time);
        return SubVp ? -Math.Exp(b / 2) * Precise.Expm1(-b) : Math.Sqrt(Precise.Expm1(b));
    }

    public override double Alpha(double sigma) => SubVp ? 2 / (sigma + Math.Sqrt(sigma * sigma + 4)) : 1 / Math.Sqrt(1 + sigma * sigma);

    public override double Time(double sigma)
    {
        var b = SubVp ? -2 * Math.Log(Alpha(sigma)) : Math.Log(1 + sigma * sigma);
        return 2 * b / (BetaMin + Math.Sqrt(BetaMin * BetaMin + 2 * (BetaMax - BetaMin) * b));
    }

    public override Tensor NetworkInput(double time, long n, ScalarType dtype) => NetworkTime.Continuous(torch.full([n], time, dtype));
}

/// <summary>VE: σ(t) = σ_min(σ_max/σ_min)^t is already the noise level, α = 1; t(σ) = log(σ/σ_min)/log(σ_max/σ_min).</summary>
public sealed record VeSigmas(VeSde Sde, double Eps) : SigmaSchedule
{
    public override double TimeMin => Eps;

    public override double TimeMax => ForwardSde.T;

    public override double Sigma(double time) => Sde.Marginal(time).Sigma;

    public override double Time(double sigma) => Math.Log(sigma / Sde.SigmaMin) / Math.Log(Sde.SigmaMax / Sde.SigmaMin);

    public override double Alpha(double sigma) => 1;

    public override Tensor NetworkInput(double time, long n, ScalarType dtype) => NetworkTime.Continuous(torch.full([n], time, dtype));
}

/// <summary>
/// DDPM's discrete schedule as k-diffusion's <c>DiscreteEpsDDPMDenoiser</c> (crowsonkb/k-diffusion @4601bf0,
/// external.py: <c>DiscreteSchedule.sigma_to_t</c> / <c>t_to_sigma</c>): σ_k = √((1 − ᾱ_k)/ᾱ_k), and between steps
/// log σ is interpolated linearly in the (fractional) step index, which the network then sees; with
/// <see cref="Quantize"/> the nearest step instead. α = 1/√(1 + σ²) (ᾱ = α²).
/// </summary>
public sealed record DdpmSigmas(DdpmSchedule Schedule, bool Quantize = false) : SigmaSchedule
{
    private readonly double[] logSigmas = Schedule.AlphasCumprod.Select(a => 0.5 * Math.Log((1 - a) / a)).ToArray();

    public override double TimeMin => 0;

    public override double TimeMax => Schedule.Steps - 1;

    public override double Sigma(double time)
    {
        var t = Math.Clamp(time, 0, TimeMax);
        var low = (int)Math.Floor(t);
        var high = Math.Min(low + 1, Schedule.Steps - 1);
        var w = t - low;
        return Math.Exp((1 - w) * logSigmas[low] + w * logSigmas[high]);
    }

    public override double Time(double sigma)
    {
        var log = Math.Log(sigma);
        // The last index whose log σ is ≤ log σ (σ_k increases with k), kept one below the end.
        var low = 0;
        while (low + 1 < logSigmas.Length - 1 && logSigmas[low + 1] <= log) low++;
        var w = Math.Clamp((logSigmas[low] - log) / (logSigmas[low] - logSigmas[low + 1]), 0, 1);
        var t = low + w;
        return Quantize ? Math.Round(t) : t;
    }

    public override double Alpha(double sigma) => 1 / Math.Sqrt(1 + sigma * sigma);

    public override Tensor NetworkInput(double time, long n, ScalarType dtype) => NetworkTime.Discrete(torch.full([n], time, dtype));
}

public static class Denoisers
{
    /// <summary>
    /// D(x; σ) from a network trained on <paramref name="schedule"/>'s process with target <paramref name="prediction"/>:
    /// x_t = α·x, t = t(σ), x̂₀ = the prediction's x₀ at (x_t, α, s = α·σ). Guidance composes before this: pass
    /// <see cref="ModelFunctions.Guided"/> as the network (the conversion to x₀ is affine in the output).
    /// </summary>
    public static DenoiserFn From(NetworkFn network, Prediction prediction, SigmaSchedule schedule) => (x, sigma) =>
    {
        using var scope = torch.NewDisposeScope();
        var n = x.shape[0];
        var alpha = schedule.Alpha(sigma);
        var xt = x * alpha;
        var output = network(xt, schedule.NetworkInput(schedule.Time(sigma), n, x.dtype));
        return Predictions.ToX0(prediction, output, xt, torch.full([n], alpha, x.dtype), torch.full([n], alpha * sigma, x.dtype))
            .MoveToOuterDisposeScope();
    };

    /// <summary>The same for a process (VP, sub-VP, VE, DDPM; EDM's raw network is preconditioned first, <see cref="ModelFunctions.ForProcess"/>).</summary>
    public static DenoiserFn From(NetworkFn network, Prediction prediction, DiffusionProcess process, double eps = 1e-3)
    {
        var (wrapped, meaning) = ModelFunctions.ForProcess(network, prediction, process);
        return From(wrapped, meaning, SigmaSchedule.For(process, eps));
    }
}

/// <summary>Scalar helpers without cancellation (System.Math has no expm1; double.ExpM1 is exp(x) − 1).</summary>
internal static class Precise
{
    /// <summary>eˣ − 1 = 2·tanh(x/2)/(1 − tanh(x/2)), exact to rounding for small |x|; exp(x) − 1 where that is already exact.</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) > 0.5) return Math.Exp(x) - 1;
        var t = Math.Tanh(x / 2);
        return 2 * t / (1 - t);
    }
}
