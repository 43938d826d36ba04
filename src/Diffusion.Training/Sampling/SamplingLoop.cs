using Diffusion.Torch;

namespace Diffusion.Training.Sampling;

/// <summary>
/// The scaffolding every sampler shares, said once: no gradients, the prior draw held outside dispose scopes, the
/// trajectory recorder (the prior recorded at the start time, the final state for every time not reached), and a
/// fixed-step walk over a <see cref="TimeGrid"/>. What remains in each sampler is its integrator step.
/// </summary>
internal static class SamplingLoop
{
    /// <summary>
    /// Draws x from <paramref name="prior"/>, records it at <paramref name="start"/>, lets <paramref name="integrate"/>
    /// advance it (offering states to the recorder), then records the final state at <paramref name="end"/> for every
    /// requested time not reached.
    /// </summary>
    public static SampleResult Run(Func<Tensor> prior, double start, double end, IEnumerable<double>? recordAt,
        Func<Tensor, TrajectoryRecorder, (Tensor Final, int Nfe)> integrate)
    {
        using var noGrad = torch.no_grad();
        var recorder = new TrajectoryRecorder(recordAt);
        var x = prior().DetachFromDisposeScope();
        recorder.Offer(start, x);
        var (final, nfe) = integrate(x, recorder);
        recorder.Finish(end, final);
        return new SampleResult(final, nfe, recorder.Points);
    }

    /// <summary>
    /// x ← step(k, from, to, x) for each step of the grid, in a dispose scope of its own, the new state recorded at
    /// <c>to</c>; the old state is freed (flat memory).
    /// </summary>
    public static Tensor Walk(Tensor x, IReadOnlyList<(double From, double To)> grid, TrajectoryRecorder recorder,
        Func<int, double, double, Tensor, Tensor> step)
    {
        for (var k = 0; k < grid.Count; k++)
        {
            using var scope = torch.NewDisposeScope();
            var (from, to) = grid[k];
            x = State.Replace(x, step(k, from, to, x));
            recorder.Offer(to, x);
        }
        return x;
    }
}
