using Diffusion.Torch;

namespace Diffusion.Training.Schedules;

/// <summary>
/// The one place that decides what time value the network's embedding sees. Continuous SDE times t ∈ [ε, 1]
/// are fed as t·999 (score_sde's DDPM-compatible convention, and the one our benchmarks use), so the same
/// sinusoidal embedding covers the range a 1000-step DDPM model sees; DDPM models see the step index i.
/// </summary>
public static class NetworkTime
{
    public const double ContinuousScale = 999;

    /// <summary>(N) times in [0, 1] → (N) network input t·999.</summary>
    public static Tensor Continuous(Tensor t) => t * ContinuousScale;

    /// <summary>(N) int64 DDPM step indices → (N) float32 network input.</summary>
    public static Tensor Discrete(Tensor steps) => steps.@float();
}
