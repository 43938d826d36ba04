using Diffusion.Training.Names;

namespace Diffusion.Training.Sampling;

/// <summary>The samplers; <see cref="Samplers.NeedsContinuous"/> says which process each one needs.</summary>
public enum SamplerKind { EulerMaruyama, PredictorCorrector, Ode, OdeHeun, Ddpm, Ddim }

public static class SamplerKinds
{
    /// <summary>The names of <c>--sampler</c>.</summary>
    public static readonly NameList<SamplerKind> Names = new("sampler",
        new(SamplerKind.EulerMaruyama, "em", "reverse-SDE Euler–Maruyama"),
        new(SamplerKind.PredictorCorrector, "pc", "predictor–corrector: reverse diffusion + Langevin"),
        new(SamplerKind.Ode, "ode", "probability-flow ODE, adaptive RK45", "rk45"),
        new(SamplerKind.OdeHeun, "heun", "probability-flow ODE, fixed-step Heun"),
        new(SamplerKind.Ddpm, "ddpm", "DDPM ancestral"),
        new(SamplerKind.Ddim, "ddim", "DDIM"));
}
