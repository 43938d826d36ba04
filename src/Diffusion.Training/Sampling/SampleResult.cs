using Diffusion.Torch;

namespace Diffusion.Training.Sampling;

/// <summary>One state of a reverse trajectory: the time (continuous t, or the DDPM step index) and x there.</summary>
public sealed record TrajectoryPoint(double Time, Tensor X);

/// <summary>
/// Samples (N, …), the number of network evaluations spent on them (a guided evaluation of a conditional and an
/// unconditional batch counts once), and the states recorded along the way. Owns its tensors: dispose it.
/// </summary>
public sealed record SampleResult(Tensor Samples, int Nfe, IReadOnlyList<TrajectoryPoint> Trajectory) : IDisposable
{
    public void Dispose()
    {
        Samples.Dispose();
        foreach (var p in Trajectory) p.X.Dispose();
    }
}

/// <summary>
/// Keeps copies of x at the requested times: the first state reached at or past each one (time runs downwards).
/// The copies live outside every dispose scope; <see cref="SampleResult"/> frees them.
/// </summary>
internal sealed class TrajectoryRecorder(IEnumerable<double>? times)
{
    private readonly Queue<double> pending = new((times ?? []).OrderDescending());
    private readonly List<TrajectoryPoint> points = new();

    public IReadOnlyList<TrajectoryPoint> Points => points;

    public void Offer(double time, Tensor x)
    {
        while (pending.Count > 0 && time <= pending.Peek() + 1e-9)
        {
            pending.Dequeue();
            points.Add(new TrajectoryPoint(time, x.clone().DetachFromDisposeScope()));
        }
    }

    /// <summary>Records the final state for every time not reached (e.g. t = 0 when sampling stops at ε).</summary>
    public void Finish(double time, Tensor x)
    {
        while (pending.Count > 0)
        {
            pending.Dequeue();
            points.Add(new TrajectoryPoint(time, x.clone().DetachFromDisposeScope()));
        }
    }
}

/// <summary>Advances a state held outside dispose scopes, freeing the old one: keeps sampling loops at flat memory.</summary>
internal static class State
{
    public static Tensor Replace(Tensor old, Tensor next)
    {
        next.DetachFromDisposeScope();
        if (!ReferenceEquals(old, next)) old.Dispose();
        return next;
    }
}
