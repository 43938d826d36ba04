using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>
/// The σ-space Euler sampler is DDIM with η = 0 (Karras et al. 2022 §3; <see cref="SigmaSamplers.Euler"/>): on a DDPM
/// schedule, over the σ levels of DDIM's respaced steps, started from the same draw z (x_T = z in DDIM's coordinates,
/// z/√ᾱ_T in σ's), every step and the final sample agree with <see cref="DiscreteSamplers.Ddim"/> to float rounding.
/// </summary>
public class EulerIsDdimTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(50)]
    public void Euler_over_ddims_sigma_levels_is_ddim(int steps)
    {
        using var scope = torch.NewDisposeScope();
        var schedule = DdpmSchedule.Linear();
        var noise = GaussianSamplerTests.ExactNoise(schedule);                        // a nonlinear-in-t ε-network
        using var g = new Generator(3);
        using var ddim = DiscreteSamplers.Ddim(schedule, noise, [256, 2], g, steps, eta: 0);

        var taus = schedule.Respaced(steps);
        var sigmaSchedule = new DdpmSigmas(schedule);                                 // σ_k = √((1 − ᾱ_k)/ᾱ_k)
        var sigmas = taus.Reverse().Select(step => sigmaSchedule.Sigma(step)).Append(0.0).ToArray(); // σ(τ_S) > … > σ(τ_1) > 0
        var denoiser = Denoisers.From((x, t) => noise(x, t.round().@long()), Prediction.Epsilon, sigmaSchedule);
        using var g2 = new Generator(3);
        var prior = torch.randn([256, 2], g2) / Math.Sqrt(schedule.AlphasCumprod[taus[^1]]);
        var (euler, nfe) = SigmaSamplers.Euler(denoiser, prior, sigmas);

        Assert.Equal(ddim.Nfe, nfe);
        var gap = (euler - ddim.Samples).abs().max().item<float>();
        var scale = ddim.Samples.abs().max().item<float>();
        Assert.True(gap <= 1e-5 * scale * steps, $"Euler in σ and DDIM differ by {gap} (samples up to {scale})");
        euler.Dispose();
    }

    [Fact]
    public void Ddim_on_a_continuous_model_points_to_euler()
    {
        var why = Samplers.Incompatibility(SamplerKind.Ddim, DiffusionProcess.Create(ProcessKind.Vp));
        Assert.NotNull(why);
        Assert.Contains("euler", why);
        Assert.Null(Samplers.Incompatibility(SamplerKind.Euler, DiffusionProcess.Create(ProcessKind.Vp)));
        Assert.Null(Samplers.Incompatibility(SamplerKind.Euler, DiffusionProcess.Create(ProcessKind.Ddpm)));
    }
}
