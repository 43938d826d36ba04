using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>
/// A pre-norm ViT block over Tokens tokens of width Dim (timm's Block; U-ViT's libs/uvit.py Block). With
/// <see cref="Skip"/> it first fuses a long skip: x = Linear(concat(x, skip)) from 2·Dim to Dim (U-ViT §3).
/// </summary>
public sealed record ViTBlockConfig(int Dim, int Heads, long Tokens, double MlpRatio = 4.0, bool QkvBias = false, bool Skip = false, double Eps = 1e-5)
{
    public int MlpHidden => (int)(Dim * MlpRatio);
}

public sealed record ViTBlockPlan(string Path, ViTBlockConfig Config, LayerNormSpec Norm, LinearSpec Qkv, LinearSpec Proj,
    LinearSpec Fc1, LinearSpec Fc2, LinearSpec? SkipLinear) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => InputShape;

    /// <summary>12D² + 10D (+ 3D with qkv bias) for MlpRatio 4, plus 2D² + D with a skip.</summary>
    public long ParameterCount => 2 * Norm.ParameterCount + Qkv.ParameterCount + Proj.ParameterCount + Fc1.ParameterCount + Fc2.ParameterCount
        + (SkipLinear?.ParameterCount ?? 0);
}

/// <summary>Names as U-ViT's Block: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2, skip_linear.</summary>
public sealed record ViTBlockParams(NormParams Norm1, LinearParams Qkv, LinearParams Proj, NormParams Norm2, LinearParams Fc1, LinearParams Fc2,
    LinearParams? SkipLinear) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Sub("norm1", Norm1).Concat(Sub("attn.qkv", Qkv)).Concat(Sub("attn.proj", Proj)).Concat(Sub("norm2", Norm2))
            .Concat(Sub("mlp.fc1", Fc1)).Concat(Sub("mlp.fc2", Fc2)).Concat(Sub("skip_linear", SkipLinear));
}

/// <summary>x ← [Linear(concat(x, skip))]; x += Attn(LN(x)); x += MLP(LN(x)) with exact GELU (Vaswani et al. 2017; Dosovitskiy et al. 2021).</summary>
public static class ViTBlock
{
    public static Validation<string, ViTBlockPlan> Plan(ViTBlockConfig c, string path = "block")
    {
        var problems = Rules.Positive(c.Dim, path, "dim") + Rules.Positive(c.Heads, path, "heads") + Rules.Positive(c.Tokens, path, "tokens")
            + Rules.Require(c.Heads <= 0 || c.Dim <= 0 || c.Dim % c.Heads == 0, path, $"heads={c.Heads} does not divide dim={c.Dim}")
            + Rules.Require(c.MlpRatio > 0 && c.MlpHidden > 0, path, $"mlp_ratio={c.MlpRatio} must give a positive hidden width");
        return Rules.Build(problems, () => new ViTBlockPlan(path, c, new LayerNormSpec(c.Dim, c.Eps),
            new LinearSpec(c.Dim, 3 * c.Dim, c.QkvBias), new LinearSpec(c.Dim, c.Dim), new LinearSpec(c.Dim, c.MlpHidden),
            new LinearSpec(c.MlpHidden, c.Dim), c.Skip ? new LinearSpec(2 * c.Dim, c.Dim) : null));
    }

    /// <summary>Linears from <paramref name="linear"/> (U-ViT: N(0, 0.02²) weights, zero biases); norms γ = 1, β = 0.</summary>
    public static ViTBlockParams Init(ViTBlockPlan p, Func<LinearSpec, LinearParams> linear) => new(
        LayerNorm.Init(p.Norm), linear(p.Qkv), linear(p.Proj), LayerNorm.Init(p.Norm), linear(p.Fc1), linear(p.Fc2),
        p.SkipLinear is { } s ? linear(s) : null);

    /// <summary>x (N, T, D), skip (N, T, D) when planned with one → (N, T, D).</summary>
    public static Tensor Forward(ViTBlockPlan p, ViTBlockParams w, Tensor x, Tensor? skip = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        if (w.SkipLinear is { } sl)
        {
            if (skip is null) throw new ArgumentNullException(nameof(skip), $"{p.Path}: this block fuses a long skip connection");
            Guard.Input(p.Path, p.InputShape, skip, "skip");
            x = Linear.Forward(sl, torch.cat([x, skip], 2)); // (N, T, 2D) → (N, T, D)
        }
        x = x + Attention(p, w, LayerNorm.Forward(p.Norm, w.Norm1, x));                                     // (N, T, D)
        var m = Linear.Forward(w.Fc2, F.gelu(Linear.Forward(w.Fc1, LayerNorm.Forward(p.Norm, w.Norm2, x)))); // (N, T, D)
        return (x + m).MoveToOuterDisposeScope();
    }

    private static Tensor Attention(ViTBlockPlan p, ViTBlockParams w, Tensor h)
    {
        long n = h.size(0), t = h.size(1), d = p.Config.Dim, heads = p.Config.Heads;
        var qkv = Linear.Forward(w.Qkv, h).reshape(n, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4); // (3, N, heads, T, d/heads)
        var a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);                             // (N, heads, T, d/heads)
        return Linear.Forward(w.Proj, a.transpose(1, 2).reshape(n, t, d));                          // (N, T, D)
    }
}
