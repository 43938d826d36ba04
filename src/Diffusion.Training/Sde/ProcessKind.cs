using Diffusion.Training.Names;

namespace Diffusion.Training.Sde;

/// <summary>
/// Which forward process a model was trained under; <see cref="Ddpm"/> is the discrete-step one, <see cref="Edm"/> the
/// variance-exploding x = x₀ + σ·n of Karras et al. 2022 with a preconditioned network (<see cref="DiffusionProcess.Preconditioning"/>).
/// </summary>
public enum ProcessKind { Vp, SubVp, Ve, Ddpm, Edm }

public static class ProcessKinds
{
    /// <summary>The names of <c>--sde</c> and training.json's <c>sde</c>.</summary>
    public static readonly NameList<ProcessKind> Names = new("SDE",
        new(ProcessKind.Vp, "vp", "variance-preserving SDE, β 0.1 → 20"),
        new(ProcessKind.SubVp, "subvp", "sub-VP SDE, β 0.1 → 20", "sub-vp"),
        new(ProcessKind.Ve, "ve", "variance-exploding SDE, σ 0.01 → σ_max"),
        new(ProcessKind.Ddpm, "ddpm", "discrete DDPM, 1000 steps"),
        new(ProcessKind.Edm, "edm", "EDM (Karras et al. 2022): preconditioned denoiser, log-normal σ, σ 0.002 → 80"));
}
