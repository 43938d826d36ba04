using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Loop;

/// <summary>
/// Exponential moving average of the weights (Polyak averaging; DDPM §B, score_sde's ExponentialMovingAverage):
/// θ̄ ← θ̄ + (1 − decay)(θ − θ̄) after every optimizer step. The averages are separate tensors owned by this object,
/// keyed by the parameters' state-dict names; sampling uses them by default.
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

    public void Update(Params parameters)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var p in parameters.Named()) shadow[p.Name].lerp_(p.Tensor, 1 - Decay);
    }

    /// <summary>Overwrites the averages with <paramref name="weights"/> (a checkpoint's), by name.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> weights) => WeightCopy.CopyInto(shadow, weights, "ema");

    public void Dispose()
    {
        foreach (var t in shadow.Values) t.Dispose();
        shadow.Clear();
    }
}
