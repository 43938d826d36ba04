using Diffusion.Torch;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// Sampler options beyond the step count; defaults are score_sde's (snr 0.16, rtol = atol = 1e-5, ε = 1e-3). The σ-space
/// samplers use <see cref="Grid"/>, <see cref="Churn"/> (edm-sde; EDM's ImageNet settings when null), <see cref="SdeEta"/>
/// (dpmpp-2m-sde), <see cref="UniPcOrder"/>, and <see cref="SigmaMin"/>, <see cref="SigmaMax"/>, <see cref="Rho"/> when
/// they override the grid's ends (the process's σ(ε) and σ(1); EDM's 0.002 and 80) and the Karras exponent (7).
/// </summary>
public sealed record SamplerOptions(double Eta = 0, double Snr = 0.16, int CorrectorSteps = 1, double Rtol = 1e-5, double Atol = 1e-5, double Eps = 1e-3,
    SigmaGridKind Grid = SigmaGridKind.Karras, EdmChurn? Churn = null, double SdeEta = 1, int UniPcOrder = 2,
    double? SigmaMin = null, double? SigmaMax = null, double? Rho = null);

public static class Samplers
{
    /// <summary>The command-line name (<see cref="SamplerKinds.Names"/>).</summary>
    public static string Name(SamplerKind kind) => SamplerKinds.Names.Name(kind);

    /// <summary>Which sampler a process gets when none is named: EDM's Heun for EDM, Euler–Maruyama for an SDE, ancestral for DDPM.</summary>
    public static SamplerKind Default(DiffusionProcess process) =>
        process.Kind == ProcessKind.Edm ? SamplerKind.EdmHeun : process.IsContinuous ? SamplerKind.EulerMaruyama : SamplerKind.Ddpm;

    public static bool NeedsContinuous(SamplerKind kind) => kind is not (SamplerKind.Ddpm or SamplerKind.Ddim) && !InSigmaSpace(kind);

    /// <summary>The σ-space samplers (<see cref="SigmaSamplers"/>): they run on every process through its <see cref="SigmaSchedule"/>.</summary>
    public static bool InSigmaSpace(SamplerKind kind) =>
        kind is SamplerKind.EdmHeun or SamplerKind.EdmSde or SamplerKind.DpmPlusPlus2M or SamplerKind.DpmPlusPlus2MSde or SamplerKind.UniPc or SamplerKind.Euler;

    /// <summary>Null when the sampler fits the process, otherwise the reason it does not.</summary>
    public static string? Incompatibility(SamplerKind kind, DiffusionProcess process) =>
        InSigmaSpace(kind) || NeedsContinuous(kind) == process.IsContinuous ? null
        : NeedsContinuous(kind)
            ? $"sampler {Name(kind)} integrates a continuous SDE, but the model was trained with {ProcessKinds.Names.Name(process.Kind)}; use ddpm or ddim"
            : $"sampler {Name(kind)} needs a discrete DDPM model, but the model was trained with the {ProcessKinds.Names.Name(process.Kind)} SDE; use {string.Join(", ", SamplerKinds.Names.Entries.Where(e => NeedsContinuous(e.Value)).Select(e => e.Name))}"
              + (kind == SamplerKind.Ddim ? $", or {Name(SamplerKind.Euler)} (DDIM's update in σ, on every process)" : "");

    /// <summary>
    /// Runs a sampler on a network's raw output (time convention of <see cref="NetworkTime"/>; an EDM model's is
    /// preconditioned here, <see cref="ModelFunctions.ForProcess"/>); <paramref name="steps"/> is ignored by ode.
    /// </summary>
    public static SampleResult Run(SamplerKind kind, DiffusionProcess process, NetworkFn network, Prediction prediction,
        long[] shape, int steps, Generator generator, SamplerOptions? options = null, IEnumerable<double>? recordAt = null)
    {
        if (Incompatibility(kind, process) is { } why) throw new ArgumentException(why);
        var o = options ?? new SamplerOptions();
        (network, prediction) = ModelFunctions.ForProcess(network, prediction, process);
        if (InSigmaSpace(kind)) return RunInSigmaSpace(kind, process, network, prediction, shape, steps, generator, o, recordAt);
        if (process.Sde is { } sde)
        {
            var score = ModelFunctions.Score(network, sde, prediction);
            return kind switch
            {
                SamplerKind.EulerMaruyama => EulerMaruyama.Sample(sde, score, shape, steps, generator, o.Eps, recordAt),
                SamplerKind.PredictorCorrector => PredictorCorrector.Sample(sde, score, shape, steps, generator, o.Snr, o.CorrectorSteps, o.Eps, recordAt),
                SamplerKind.OdeHeun => ProbabilityFlow.Heun(sde, score, shape, steps, generator, o.Eps, recordAt),
                _ => ProbabilityFlow.Rk45(sde, score, shape, generator, o.Rtol, o.Atol, o.Eps, recordAt),
            };
        }
        var schedule = process.Schedule!;
        var noise = ModelFunctions.Noise(network, schedule, prediction);
        var count = Math.Min(steps, schedule.Steps);
        return kind == SamplerKind.Ddpm
            ? DiscreteSamplers.Ddpm(schedule, noise, shape, generator, count, recordAt)
            : DiscreteSamplers.Ddim(schedule, noise, shape, generator, count, o.Eta, recordAt);
    }

    /// <summary>
    /// A σ-space sampler (<paramref name="network"/> as <see cref="Run"/> passes it, EDM's already preconditioned): D from the network through the process's σ(t) correspondence, the grid of <c>o.Grid</c> with
    /// <paramref name="steps"/> intervals, the prior x = σ_max·z (k-diffusion). The trajectory's times are the process's
    /// own (t, or the DDPM step index), and time 0 is the final sample at σ = 0 only (DDPM's step 0, σ_min, reports 1e-6).
    /// </summary>
    public static SampleResult RunInSigmaSpace(SamplerKind kind, DiffusionProcess process, NetworkFn network, Prediction prediction,
        long[] shape, int steps, Generator generator, SamplerOptions o, IEnumerable<double>? recordAt = null)
    {
        var schedule = SigmaSchedule.For(process, o.Eps);
        var denoiser = Denoisers.From(network, prediction, schedule);
        var sigmas = SigmaGrids.Make(o.Grid, steps, schedule, o.SigmaMin, o.SigmaMax, o.Rho);
        double TimeAt(int i) => sigmas[i] == 0 ? 0 : Math.Max(schedule.Time(sigmas[i]), 1e-6);
        return SamplingLoop.Run(() => (torch.randn(shape, generator) * sigmas[0]).MoveToOuterDisposeScope(), TimeAt(0), 0, recordAt, (x, recorder) =>
        {
            void Observe(int i, Tensor state) => recorder.Offer(TimeAt(i), state);
            return kind switch
            {
                SamplerKind.EdmHeun => SigmaSamplers.EdmHeun(denoiser, x, sigmas, observe: Observe),
                SamplerKind.EdmSde => SigmaSamplers.EdmHeun(denoiser, x, sigmas, o.Churn ?? EdmChurn.ImageNet, generator, Observe),
                SamplerKind.DpmPlusPlus2M => SigmaSamplers.DpmPlusPlus2M(denoiser, x, sigmas, Observe),
                SamplerKind.DpmPlusPlus2MSde => SigmaSamplers.DpmPlusPlus2MSde(denoiser, x, sigmas, o.SdeEta, generator, observe: Observe),
                SamplerKind.Euler => SigmaSamplers.Euler(denoiser, x, sigmas, Observe),
                _ => SigmaSamplers.UniPc(denoiser, x, sigmas, o.UniPcOrder, observe: Observe),
            };
        });
    }
}
