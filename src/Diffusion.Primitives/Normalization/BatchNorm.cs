using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>
/// BatchNorm (Ioffe &amp; Szegedy 2015), here to show why diffusion nets avoid it: in training each sample is normalised
/// with statistics of the whole batch (so its output depends on the other samples, and small batches are noisy), and
/// sampling runs in eval mode on running statistics that differ from those seen in training.
/// </summary>
public sealed record BatchNormSpec(int Channels, double Eps = 1e-5, double Momentum = 0.1, bool Affine = true)
{
    public long ParameterCount => Affine ? 2L * Channels : 0;

    public Seq<string> Check(string path) =>
        Rules.Positive(Channels, path, "num_features")
        + Rules.Require(Momentum is >= 0 and <= 1, path, $"momentum={Momentum} must lie in [0, 1]");
}

/// <summary>γ, β and the running statistics (buffers, named as in nn.BatchNorm2d's state_dict).</summary>
public sealed record BatchNormParams(Tensor? Weight, Tensor? Bias, Tensor RunningMean, Tensor RunningVar) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        One("weight", Weight).Concat(One("bias", Bias)).Concat(One("running_mean", RunningMean)).Concat(One("running_var", RunningVar));

    public override Params RequiresGrad(bool on = true)
    {
        if (Weight is not null) Weight.requires_grad = on;
        if (Bias is not null) Bias.requires_grad = on;
        return this;
    }
}

public static class BatchNorm
{
    public static BatchNormParams Init(BatchNormSpec s) =>
        new(s.Affine ? Primitives.Init.Ones(s.Channels) : null, s.Affine ? Primitives.Init.Zeros(s.Channels) : null,
            Primitives.Init.Zeros(s.Channels), Primitives.Init.Ones(s.Channels));

    /// <summary>
    /// (N, C, *spatial) → same shape. Training: batch statistics, and the running statistics are updated in place
    /// (the one impure forward in this library, as in PyTorch). Eval: the running statistics.
    /// </summary>
    public static Tensor Forward(BatchNormSpec s, BatchNormParams p, Tensor x, bool training) =>
        F.batch_norm(x, p.RunningMean, p.RunningVar, p.Weight, p.Bias, training, s.Momentum, s.Eps);
}
