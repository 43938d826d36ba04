using Diffusion.Torch;
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

    public IEnumerable<string> Check(string path) =>
        [.. Rules.Positive(Channels, path, "num_features"), .. Rules.Require(Momentum is >= 0 and <= 1, path, $"momentum={Momentum} must lie in [0, 1]")];

    /// <summary>γ, β and the running statistics (buffers), named as in nn.BatchNorm2d's state_dict.</summary>
    public Leaf<BatchNormSpec> Declare(string name, long[] shape) => new(this, Module.Leaf(name, "BatchNorm", shape, 0,
        Affine ? new ParamSpec("weight", [Channels], Fill.One) : null, Affine ? new ParamSpec("bias", [Channels], Fill.Zero) : null,
        new ParamSpec("running_mean", [Channels], Fill.Zero, ParamKind.Buffer), new ParamSpec("running_var", [Channels], Fill.One, ParamKind.Buffer)));
}

public static class BatchNorm
{
    /// <summary>Fresh parameters and statistics (no draw needs a generator).</summary>
    public static Params Init(BatchNormSpec s)
    {
        using var g = new Generator(0);
        return Params.Init(s.Declare("bn", [s.Channels]).Module, g);
    }

    /// <summary>
    /// (N, C, *spatial) → same shape. Training: batch statistics, and the running statistics are updated in place
    /// (the one impure forward in this library, as in PyTorch). Eval: the running statistics.
    /// </summary>
    public static Tensor Forward(BatchNormSpec s, Params p, Tensor x, bool training) =>
        F.batch_norm(x, p["running_mean"], p["running_var"], p.Optional("weight"), p.Optional("bias"), training, s.Momentum, s.Eps);
}
