using Diffusion.Training.Names;

namespace Diffusion.Training.Schedules;

/// <summary>The β schedule of a discrete DDPM model.</summary>
public enum BetaSchedule { Linear, Cosine }

public static class BetaSchedules
{
    /// <summary>The names of training.json's <c>schedule</c>.</summary>
    public static readonly NameList<BetaSchedule> Names = new("DDPM schedule",
        new(BetaSchedule.Linear, "linear", "β 1e-4 → 0.02 (Ho et al. 2020)"),
        new(BetaSchedule.Cosine, "cosine", "cosine ᾱ (Nichol & Dhariwal 2021)"));
}
