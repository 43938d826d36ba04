using Diffusion.Training.Names;

namespace Diffusion.Training.Sampling;

/// <summary>The samplers; <see cref="Samplers.NeedsContinuous"/> says which process each one needs.</summary>
public enum SamplerKind { EulerMaruyama, PredictorCorrector, Ode, OdeHeun, Ddpm, Ddim, EdmHeun, EdmSde, DpmPlusPlus2M, DpmPlusPlus2MSde, UniPc, Euler }

public static class SamplerKinds
{
    /// <summary>The names of <c>--sampler</c>.</summary>
    public static readonly NameList<SamplerKind> Names = new("sampler",
        new(SamplerKind.EulerMaruyama, "em", "reverse-SDE Euler–Maruyama"),
        new(SamplerKind.PredictorCorrector, "pc", "predictor–corrector: reverse diffusion + Langevin"),
        new(SamplerKind.Ode, "ode", "probability-flow ODE, adaptive RK45", "rk45"),
        new(SamplerKind.OdeHeun, "heun", "probability-flow ODE, fixed-step Heun"),
        new(SamplerKind.Ddpm, "ddpm", "DDPM ancestral"),
        new(SamplerKind.Ddim, "ddim", "DDIM"),
        new(SamplerKind.EdmHeun, "edm-heun", "EDM Heun over a σ grid (Karras et al. 2022 Alg. 1), 2 NFE per step"),
        new(SamplerKind.EdmSde, "edm-sde", "EDM stochastic Heun (Alg. 2, S_churn 80, S_tmin 0.05, S_tmax 50, S_noise 1.003)"),
        new(SamplerKind.DpmPlusPlus2M, "dpmpp-2m", "DPM-Solver++(2M), multistep data prediction, 1 NFE per step"),
        new(SamplerKind.DpmPlusPlus2MSde, "dpmpp-2m-sde", "DPM-Solver++(2M) SDE, midpoint, η = 1"),
        new(SamplerKind.UniPc, "unipc", "UniPC-bh2 predictor–corrector, order 2, 1 NFE per step"),
        new(SamplerKind.Euler, "euler", "Euler over a σ grid: DDIM (η = 0) on every process (with --grid uniform, DDIM's time spacing), 1 NFE per step"));
}
