using Diffusion.Training.Schedules;

namespace Diffusion.Training.Sde;

/// <summary>The forward process a model is trained under: a continuous SDE, or a discrete DDPM schedule.</summary>
public sealed record DiffusionProcess(ProcessKind Kind, ForwardSde? Sde, DdpmSchedule? Schedule)
{
    public bool IsContinuous => Sde is not null;

    /// <summary>
    /// vp / subvp (β_min 0.1, β_max 20), ve (σ_min 0.01, <paramref name="sigmaMax"/>), or ddpm with the
    /// given β schedule (1000 steps).
    /// </summary>
    public static DiffusionProcess Create(ProcessKind kind, double sigmaMax = 50, BetaSchedule schedule = BetaSchedule.Linear) => kind switch
    {
        ProcessKind.Vp => new(ProcessKind.Vp, new VpSde(), null),
        ProcessKind.SubVp => new(ProcessKind.SubVp, new SubVpSde(), null),
        ProcessKind.Ve => new(ProcessKind.Ve, new VeSde(SigmaMax: sigmaMax), null),
        _ => new(ProcessKind.Ddpm, null, DdpmSchedule.Of(schedule)),
    };
}
