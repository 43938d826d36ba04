using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>What the network predicts; the training layer converts between them.</summary>
public enum PredictionTarget { Noise, Score, V }

/// <summary>
/// A built score network: its config, its parameters (named as PyTorch's state_dict) and a pure forward.
/// <c>t</c> is the value the time embedding sees (e.g. t·999 for a continuous t ∈ [0, 1], or a DDPM step index);
/// conditioning inputs are optional and validated against the config.
/// </summary>
public interface IScoreModel : IDisposable
{
    ModelConfig Config { get; }

    Params Parameters { get; }

    PredictionTarget Target { get; }

    /// <summary>(N, *InputShape) and (N) → (N, *InputShape). <paramref name="dropout"/> non-null means training mode.</summary>
    Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null);

    /// <summary>The layer tree for summaries, from shape propagation alone (no kernels run).</summary>
    IReadOnlyList<LayerInfo> Layers { get; }
}

/// <summary>Optional conditioning: class labels (N) int64 — the null class for classifier-free guidance — and a metadata vector (N, M).</summary>
public sealed record Conditioning(Tensor? Labels = null, Tensor? Metadata = null);

/// <summary>
/// One row of a model summary: hierarchical path, layer type, per-sample output shape, parameters, and
/// multiply-accumulates per sample. <paramref name="Depth"/> is the nesting level (0 for the model itself).
/// </summary>
public sealed record LayerInfo(string Path, string Type, int Depth, long[] OutputShape, long Params, bool Trainable, long Macs);
