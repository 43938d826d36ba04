using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Loop;

/// <summary>
/// Exponential moving average of the weights (Polyak averaging; DDPM §B, score_sde's ExponentialMovingAverage):
/// θ̄ ← θ̄ + (1 − decay)(θ − θ̄) after every optimizer step. The averages are separate tensors owned by this object,
/// keyed by the parameters' state-dict names; sampling uses them by default.
/// The decay warms up as score_sde's <c>use_num_updates</c>: min(decay, (1 + n)/(10 + n)) at update n, so a short
/// run's averages are not dominated by the random initial weights (at 0.999 they would be for thousands of steps).
/// </summary>
public sealed class Ema : IDisposable
{
    private readonly Dictionary<string, Tensor> shadow = new();

    public Ema(Params parameters, double decay)
    {
        Decay = decay;
        using var noGrad = torch.no_grad();
        foreach (var p in parameters.Named()) shadow[p.Name] = p.Tensor.detach().clone().DetachFromDisposeScope();
    }

    public double Decay { get; }

    public IReadOnlyDictionary<string, Tensor> Weights => shadow;

    /// <summary>The decay used at update number <paramref name="updates"/> (0 for the first update).</summary>
    public double DecayAt(long updates) => Math.Min(Decay, (1.0 + updates) / (10.0 + updates));

    /// <summary>Moves the averages toward the weights after optimizer step number <paramref name="updates"/>.</summary>
    public void Update(Params parameters, long updates)
    {
        var decay = DecayAt(updates);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var p in parameters.Named()) shadow[p.Name].lerp_(p.Tensor, 1 - decay);
    }

    /// <summary>Overwrites the averages with <paramref name="weights"/> (a checkpoint's), by name.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> weights) => WeightCopy.CopyInto(shadow, weights, "ema");

    public void Dispose()
    {
        foreach (var t in shadow.Values) t.Dispose();
        shadow.Clear();
    }
}
