using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>
/// GroupNorm (Wu &amp; He 2018, eq. 1–3): per sample, the channels are split into <see cref="Groups"/> groups and each
/// group is normalised over (C/G, *spatial) — so a sample never depends on the rest of the batch, unlike BatchNorm.
/// Groups = C gives InstanceNorm; Groups = 1 gives LayerNorm over (C, *spatial).
/// </summary>
public sealed record GroupNormSpec(int Channels, int Groups, double Eps = 1e-5, bool Affine = true)
{
    public long ParameterCount => Affine ? 2L * Channels : 0;

    public IEnumerable<string> Check(string path) =>
    [
        .. Rules.Positive(Channels, path, "channels"), .. Rules.Positive(Groups, path, "groups"),
        .. Rules.Require(Groups <= 0 || Channels <= 0 || Channels % Groups == 0, path, $"groups={Groups} does not divide channels={Channels}"),
        .. Rules.Require(Eps > 0, path, $"eps={Eps} must be positive"),
    ];

    /// <summary>The usual diffusion choice: <see cref="GroupNorm.ChooseGroups"/> groups, eps 1e-6 as DDPM/diffusers.</summary>
    public static GroupNormSpec For(int channels, double eps = 1e-6) => new(channels, GroupNorm.ChooseGroups(channels), eps);

    /// <summary>This norm as the child <paramref name="name"/> of a block, over a per-sample (C, *spatial) shape.</summary>
    public Leaf<GroupNormSpec> Declare(string name, long[] shape) =>
        new(this, Norms.Affine(name, Groups == Channels && Channels > 1 ? "InstanceNorm" : "GroupNorm", shape, Channels, Affine));
}

public static class GroupNorm
{
    /// <summary>32 when it divides <paramref name="channels"/> (Wu &amp; He's default, used by DDPM and diffusers), else the largest divisor ≤ 32.</summary>
    public static int ChooseGroups(int channels, int preferred = 32)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive");
        for (var g = Math.Min(preferred, channels); g > 1; g--)
            if (channels % g == 0) return g;
        return 1;
    }

    /// <summary>
    /// (N, C, *spatial) → same shape, float32: γ·(x − μ_g)/√(σ²_g + ε) + β. In float32 this is ATen's group_norm; under a
    /// bf16 view (<see cref="Params.In"/>) it is the shim's fused kernel, which reads a bfloat16 x as it is (no widened
    /// copy) and keeps the statistics in float32. For a norm whose result goes straight into a convolution or linear
    /// layer, <see cref="ForwardIntoMatmul"/> writes it in that layer's compute type instead.
    /// </summary>
    public static Tensor Forward(GroupNormSpec s, Params w, Tensor x) => Normalize(s, w, x, silu: false, ScalarType.Float32);

    /// <summary>
    /// act(GroupNorm(x)) in float32 (e.g. before a residual sum). Under a bf16 view SiLU is fused into the norm's kernel
    /// (one pass forward, two backward with SiLU's derivative recomputed from x); other activations apply to the norm.
    /// </summary>
    public static Tensor Forward(GroupNormSpec s, Params w, Tensor x, Activation act) => Activated(s, w, x, act, ScalarType.Float32);

    /// <summary>
    /// act(GroupNorm(x)) for a convolution or linear layer to read next — the pair every pre-activation ResBlock runs twice.
    /// Under a bf16 view the result is bfloat16, what that layer would have cast it to anyway (the same rounding, one pass
    /// fewer); in float32 it is <see cref="Forward(GroupNormSpec, Params, Tensor, Activation)"/>.
    /// </summary>
    public static Tensor ForwardIntoMatmul(GroupNormSpec s, Params w, Tensor x, Activation? act = null) =>
        act is { } a ? Activated(s, w, x, a, w.Precision.ComputeType()) : Normalize(s, w, x, silu: false, w.Precision.ComputeType());

    private static Tensor Activated(GroupNormSpec s, Params w, Tensor x, Activation act, ScalarType output) =>
        w.Precision != Precision.FP32 && act == Activation.SiLU ? Normalize(s, w, x, silu: true, output) : act.Apply(Normalize(s, w, x, silu: false, output));

    private static Tensor Normalize(GroupNormSpec s, Params w, Tensor x, bool silu, ScalarType output) => w.Precision == Precision.FP32
        ? F.group_norm(Precisions.InFloat32(x), s.Groups, w.Optional("weight"), w.Optional("bias"), s.Eps)
        : F.group_norm(x, s.Groups, w.Optional("weight"), w.Optional("bias"), s.Eps, silu, output);

    public static Tensor Forward(this Leaf<GroupNormSpec> layer, Params parent, Tensor x) => Forward(layer.Spec, parent[layer], x);

    public static Tensor Forward(this Leaf<GroupNormSpec> layer, Params parent, Tensor x, Activation act) => Forward(layer.Spec, parent[layer], x, act);

    public static Tensor ForwardIntoMatmul(this Leaf<GroupNormSpec> layer, Params parent, Tensor x, Activation? act = null) =>
        ForwardIntoMatmul(layer.Spec, parent[layer], x, act);
}

/// <summary>LayerNorm over the trailing dim (Ba et al. 2016); for transformers the last dim of (N, T, D).</summary>
public sealed record LayerNormSpec(int Dim, double Eps = 1e-5, bool Affine = true)
{
    public long ParameterCount => Affine ? 2L * Dim : 0;

    public IEnumerable<string> Check(string path) => [.. Rules.Positive(Dim, path, "dim"), .. Rules.Require(Eps > 0, path, $"eps={Eps} must be positive")];

    public Leaf<LayerNormSpec> Declare(string name, long[] shape) => new(this, Norms.Affine(name, "LayerNorm", shape, Dim, Affine));
}

public static class LayerNorm
{
    /// <summary>(…, D) → same shape, normalised over the last dim (in float32 for a bfloat16 x); a non-affine norm needs no parameters.</summary>
    public static Tensor Forward(LayerNormSpec s, Params? w, Tensor x) => F.layer_norm(Precisions.InFloat32(x), [s.Dim], w?.Optional("weight"), w?.Optional("bias"), s.Eps);

    public static Tensor Forward(this Leaf<LayerNormSpec> layer, Params parent, Tensor x) =>
        Forward(layer.Spec, layer.Spec.Affine ? parent[layer] : null, x);

    /// <summary>Normalises over every dim but the batch: LayerNorm over (C, *spatial), as in the GroupNorm paper's figure 2.</summary>
    public static Tensor OverSample(Tensor x, double eps = 1e-5) => F.layer_norm(x, x.shape[1..], null, null, eps);
}

/// <summary>InstanceNorm (Ulyanov et al. 2016): each (sample, channel) over its spatial positions — GroupNorm with C groups.</summary>
public static class InstanceNorm
{
    public static Tensor Forward(Tensor x, double eps = 1e-5) => F.instance_norm(x, null, null, null, null, true, 0.1, eps);
}

internal static class Norms
{
    /// <summary>A norm's module: γ = 1 and β = 0 (PyTorch's reset_parameters) when affine, else a parameter-free op.</summary>
    public static Module Affine(string name, string type, long[] shape, int channels, bool affine) =>
        affine
            ? Module.Leaf(name, type, shape, 0, new ParamSpec("weight", [channels], Fill.One), new ParamSpec("bias", [channels], Fill.Zero))
            : Module.Op(name, type, shape);
}
