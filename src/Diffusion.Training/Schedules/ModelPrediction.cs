using Diffusion.Architectures;
using Diffusion.Torch;

namespace Diffusion.Training.Schedules;

/// <summary>What losses and samplers read from a model: its prediction, shaped as its input.</summary>
public static class ModelPrediction
{
    /// <summary>
    /// The model's output for x (N, C, …), without a learned-σ DiT's extra C channels (the variance interpolation v of
    /// Nichol &amp; Dhariwal 2021 eq. 15, trained by DiT with L_vlb): our losses train the prediction with L_simple and our
    /// samplers use the prediction only, as DiT's own DDIM sampling does.
    /// </summary>
    public static Tensor Predict(this IScoreModel model, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var output = model.Forward(x, t, conditioning, dropout);
        return model.Config is DiTConfig { LearnSigma: true } ? output.narrow(1, 0, x.size(1)) : output;
    }
}
