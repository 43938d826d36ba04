using Diffusion.Training.Schedules;

namespace Diffusion.Training.Sde;

/// <summary>
/// The forward process a model is trained under: a continuous SDE, or a discrete DDPM schedule. EDM is the VE SDE
/// with σ(t) = σ_min(σ_max/σ_min)^t from EDM's σ_min = 0.002 to σ_max (80) — x = x₀ + σ·n, so every SDE sampler,
/// the likelihood and the inpainter apply through its time t — with the network wrapped by
/// <see cref="Preconditioning"/> (see <see cref="Sampling.ModelFunctions.ForProcess"/>).
/// </summary>
public sealed record DiffusionProcess(ProcessKind Kind, ForwardSde? Sde, DdpmSchedule? Schedule, EdmPreconditioning? Preconditioning = null)
{
    public bool IsContinuous => Sde is not null;

    /// <summary>
    /// vp / subvp (β_min 0.1, β_max 20), ve (σ_min 0.01, <paramref name="sigmaMax"/>), ddpm with the given β schedule
    /// (1000 steps), or edm (σ 0.002 → <paramref name="sigmaMax"/>, σ_data <paramref name="sigmaData"/>).
    /// </summary>
    public static DiffusionProcess Create(ProcessKind kind, double sigmaMax = 50, BetaSchedule schedule = BetaSchedule.Linear, double sigmaData = 0.5) => kind switch
    {
        ProcessKind.Vp => new(ProcessKind.Vp, new VpSde(), null),
        ProcessKind.SubVp => new(ProcessKind.SubVp, new SubVpSde(), null),
        ProcessKind.Ve => new(ProcessKind.Ve, new VeSde(SigmaMax: sigmaMax), null),
        ProcessKind.Edm => new(ProcessKind.Edm, new VeSde(EdmPreconditioning.SigmaMin, sigmaMax), null, new EdmPreconditioning(sigmaData)),
        _ => new(ProcessKind.Ddpm, null, DdpmSchedule.Of(schedule)),
    };

    /// <summary>EDM with its own σ_max (80) and σ_data (0.5) unless given.</summary>
    public static DiffusionProcess Edm(double sigmaMax = EdmPreconditioning.SigmaMax, double sigmaData = 0.5) => Create(ProcessKind.Edm, sigmaMax, sigmaData: sigmaData);
}
