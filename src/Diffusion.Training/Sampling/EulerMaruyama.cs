using Diffusion.Torch;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// Euler–Maruyama on the reverse SDE (score_sde's <c>EulerMaruyamaPredictor</c>): from x ~ p_T, over the grid
/// t_k = linspace(1, ε, steps + 1), x ← x + f̄(x, t_k)Δt + ḡ(t_k)√|Δt|·z with Δt = t_{k+1} − t_k &lt; 0.
/// The last step adds no noise (score_sde's <c>denoise</c>: return the mean).
/// </summary>
public static class EulerMaruyama
{
    public static SampleResult Sample(ForwardSde sde, ScoreFn score, long[] shape, int steps, Generator generator,
        double eps = 1e-3, IEnumerable<double>? recordAt = null)
    {
        var reverse = sde.Reverse(score);
        var grid = TimeGrid.LinspaceFromBothEnds(ForwardSde.T, eps, steps);
        return SamplingLoop.Run(() => sde.PriorSample(shape, generator), ForwardSde.T, eps, recordAt, (prior, recorder) =>
            (SamplingLoop.Walk(prior, grid, recorder, (k, t, next, x) =>
            {
                var dt = next - t;
                var tt = torch.full([shape[0]], t);
                var mean = x + reverse.Drift(x, tt) * dt;
                return k == steps - 1 ? mean : mean + ForwardSde.Broadcast(reverse.Diffusion(tt), x) * Math.Sqrt(-dt) * torch.randn(shape, generator);
            }), steps));
    }
}
