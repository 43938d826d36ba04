using Diffusion.Torch;
using Diffusion.Training.Schedules;

namespace Diffusion.Training.Sampling;

/// <summary>The noise prediction ε̂ of a discrete model: (N, …) and int64 step indices (N) → (N, …).</summary>
public delegate Tensor NoiseFn(Tensor x, Tensor steps);

/// <summary>
/// Samplers for discrete DDPM models over a respaced subsequence τ₁ &lt; … &lt; τ_S of the training steps
/// (all of them when S = Steps). With ᾱ = ᾱ_{τ_k}, ᾱ' = ᾱ_{τ_{k−1}} (1 at the end) and x̂₀ = (x − √(1−ᾱ)ε̂)/√ᾱ:
/// DDPM ancestral (Ho et al. 2020 eq. 6–7; respaced as Nichol &amp; Dhariwal §4) draws from the posterior
/// N(μ̃, β̃) with β = 1 − ᾱ/ᾱ', μ̃ = √ᾱ'β/(1−ᾱ)·x̂₀ + √(1−β)(1−ᾱ')/(1−ᾱ)·x, β̃ = (1−ᾱ')/(1−ᾱ)·β;
/// DDIM (Song et al. 2021a eq. 12) steps x' = √ᾱ'x̂₀ + √(1−ᾱ'−σ²)ε̂ + σz with σ = η√((1−ᾱ')/(1−ᾱ))√(1−ᾱ/ᾱ');
/// η = 0 is deterministic, η = 1 matches DDPM's posterior variance. No clipping of x̂₀.
/// </summary>
public static class DiscreteSamplers
{
    public static SampleResult Ddpm(DdpmSchedule schedule, NoiseFn noise, long[] shape, Generator generator,
        int? steps = null, IEnumerable<double>? recordAt = null) =>
        Run(schedule, noise, shape, generator, steps, recordAt, eta: null);

    public static SampleResult Ddim(DdpmSchedule schedule, NoiseFn noise, long[] shape, Generator generator,
        int? steps = null, double eta = 0, IEnumerable<double>? recordAt = null) =>
        Run(schedule, noise, shape, generator, steps, recordAt, eta);

    /// <summary><paramref name="recordAt"/> and the trajectory's times are step indices (the prior is at Steps).</summary>
    private static SampleResult Run(DdpmSchedule schedule, NoiseFn noise, long[] shape, Generator generator,
        int? steps, IEnumerable<double>? recordAt, double? eta)
    {
        var taus = schedule.Respaced(steps ?? schedule.Steps);
        // From the last respaced step down: (τ_k, τ_{k−1}), the end at step 0.
        var grid = Enumerable.Range(0, taus.Length).Select(i => taus.Length - 1 - i).Select(k => ((double)taus[k], k > 0 ? (double)taus[k - 1] : 0.0)).ToArray();
        return SamplingLoop.Run(() => torch.randn(shape, generator), schedule.Steps, 0, recordAt, (prior, recorder) =>
            (SamplingLoop.Walk(prior, grid, recorder, (i, _, _, x) =>
        {
            var k = taus.Length - 1 - i;
            var bar = schedule.AlphasCumprod[taus[k]];
            var barPrev = k > 0 ? schedule.AlphasCumprod[taus[k - 1]] : 1.0;
            var eps = noise(x, torch.full([shape[0]], taus[k], ScalarType.Int64));
            var x0 = (x - eps * Math.Sqrt(1 - bar)) / Math.Sqrt(bar);
            Tensor next;
            if (eta is not { } e)
            {
                var beta = 1 - bar / barPrev;
                var mean = x0 * (Math.Sqrt(barPrev) * beta / (1 - bar)) + x * (Math.Sqrt(1 - beta) * (1 - barPrev) / (1 - bar));
                var variance = (1 - barPrev) / (1 - bar) * beta;
                next = k > 0 ? mean + torch.randn(shape, generator) * Math.Sqrt(variance) : mean;
            }
            else
            {
                var sigma = e * Math.Sqrt((1 - barPrev) / (1 - bar)) * Math.Sqrt(1 - bar / barPrev);
                next = x0 * Math.Sqrt(barPrev) + eps * Math.Sqrt(Math.Max(0, 1 - barPrev - sigma * sigma));
                if (sigma > 0) next = next + torch.randn(shape, generator) * sigma;
            }
            return next;
        }), taus.Length));
    }
}
