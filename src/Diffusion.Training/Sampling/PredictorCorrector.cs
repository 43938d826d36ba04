using Diffusion.Torch;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// Predictor–corrector sampling (Song et al. 2021 Alg. 1; score_sde's <c>get_pc_sampler</c>) on the grid
/// t_k = linspace(1, ε, steps): at each t_k first <paramref name="correctorSteps"/> Langevin corrector steps, then
/// one reverse-diffusion predictor step (the reverse of the SDE's own discretisation). Returns the predictor's
/// noise-free mean at the end (denoise).
/// </summary>
public static class PredictorCorrector
{
    public static SampleResult Sample(ForwardSde sde, ScoreFn score, long[] shape, int steps, Generator generator,
        double snr = 0.16, int correctorSteps = 1, double eps = 1e-3, IEnumerable<double>? recordAt = null)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least two steps");
        var reverse = sde.Reverse(score);
        var times = TimeGrid.Linspace(ForwardSde.T, eps, steps - 1);
        return SamplingLoop.Run(() => sde.PriorSample(shape, generator), ForwardSde.T, eps, recordAt, (x, recorder) =>
        {
            var nfe = 0;
            Tensor? mean = null;
            foreach (var t in times)
            {
                using (var scope = torch.NewDisposeScope())
                {
                    var tt = torch.full([shape[0]], t);
                    for (var c = 0; c < correctorSteps; c++, nfe++) x = State.Replace(x, Langevin(sde, score, x, tt, steps, snr, generator));

                    // Reverse-diffusion predictor: x̄ = x − f̄, x = x̄ + Ḡz.
                    var (f, g) = reverse.Discretize(x, tt, steps);
                    nfe++;
                    var m = (x - f).DetachFromDisposeScope();
                    mean?.Dispose();
                    mean = m;
                    x = State.Replace(x, m + ForwardSde.Broadcast(g, x) * torch.randn(shape, generator));
                }
                recorder.Offer(t, mean!);
            }
            x.Dispose();
            return (mean!, nfe);
        });
    }

    /// <summary>
    /// One Langevin step with the step size set by the signal-to-noise ratio r (score_sde's <c>LangevinCorrector</c>):
    /// ε = 2α(r‖z‖/‖s‖)², batch-averaged norms, α = α_i = 1 − β_i of the discrete VP chain (1 for VE);
    /// x ← x + ε·s + √(2ε)·z.
    /// </summary>
    internal static Tensor Langevin(ForwardSde sde, ScoreFn score, Tensor x, Tensor t, int steps, double snr, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        var alpha = sde switch
        {
            VpSde vp => -vp.DiscreteBeta(t, steps) + 1,
            SubVpSde sub => -new VpSde(sub.BetaMin, sub.BetaMax).DiscreteBeta(t, steps) + 1,
            _ => torch.ones_like(t),
        };                                                                              // (N)
        var grad = score(x, t);
        var noise = torch.randn(x.shape, generator);
        var n = x.shape[0];
        var gradNorm = grad.reshape(n, -1).norm([1]).mean();
        var noiseNorm = noise.reshape(n, -1).norm([1]).mean();
        var stepSize = (noiseNorm * snr / gradNorm).square() * 2 * alpha;               // (N)
        var step = ForwardSde.Broadcast(stepSize, x);
        return (x + step * grad + (step * 2).sqrt() * noise).MoveToOuterDisposeScope();
    }
}
