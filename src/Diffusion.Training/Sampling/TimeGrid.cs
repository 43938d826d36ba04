namespace Diffusion.Training.Sampling;

/// <summary>
/// The times a fixed-step sampler visits, apart from the integrator that steps between them (as k-diffusion keeps
/// its sigma schedules apart from its samplers). A grid is a list of steps (from, to), time running downwards.
/// </summary>
public static class TimeGrid
{
    /// <summary>linspace(start, end, intervals + 1): start + (end − start)·k/intervals for k = 0 … intervals.</summary>
    public static double[] Linspace(double start, double end, int intervals) =>
        Enumerable.Range(0, AtLeastOne(intervals) + 1).Select(k => start + (end - start) * k / intervals).ToArray();

    /// <summary>Consecutive points as steps: (t₀, t₁), (t₁, t₂), ….</summary>
    public static (double From, double To)[] Steps(IReadOnlyList<double> points) =>
        Enumerable.Range(0, points.Count - 1).Select(k => (points[k], points[k + 1])).ToArray();

    private static int AtLeastOne(int steps) =>
        steps >= 1 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one step");

    /// <summary>
    /// linspace(start, end, steps + 1) with each step's end counted from <paramref name="end"/> upwards,
    /// end + (start − end)·(steps − k − 1)/steps — the same times, but the rounding the Euler–Maruyama sampler has always
    /// used, so its samples stay bit-identical.
    /// </summary>
    public static (double From, double To)[] LinspaceFromBothEnds(double start, double end, int steps) =>
        Enumerable.Range(0, AtLeastOne(steps)).Select(k => (start + (end - start) * k / steps, end + (start - end) * (steps - k - 1) / steps)).ToArray();
}
