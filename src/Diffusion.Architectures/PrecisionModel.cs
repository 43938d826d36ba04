using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// A model run in a <see cref="Primitives.Precision"/>: the same float32 master weights, read through one
/// <see cref="Params.In"/> view whose compute-type copies are cast once for this object's life (make one per training
/// step, after the optimizer moved the weights, or one per sampling run). The output is float32 and NCHW-contiguous,
/// so losses, samplers and metrics downstream run as they do in float32. Disposing frees the copies, never the model.
/// </summary>
public sealed class PrecisionModel(IScoreModel model, Precision precision) : IScoreModel
{
    private readonly Params weights = model.Parameters.In(precision);

    public Precision Precision => precision;

    public ModelConfig Config => model.Config;

    public Module Module => model.Module;

    /// <summary>The float32 master weights (what the optimizer, the EMA and checkpoints see).</summary>
    public Params Parameters => model.Parameters;

    public PredictionTarget Target => model.Target;

    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null) => Forward(weights, x, t, conditioning, dropout);

    public Tensor Forward(Params w, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var y = model.Forward(w, x, t, conditioning, dropout);
        // Float32 in the usual (N, C, *spatial) order: a bf16 network computes its 2-D convolutions channels-last (Conv).
        return (y.dtype == ScalarType.Float32 ? y : y.to(ScalarType.Float32)).contiguous();
    }

    public void Dispose() => weights.Dispose();
}
