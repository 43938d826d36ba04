using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>
/// A pre-norm ViT block over Tokens tokens of width Dim (timm's Block; U-ViT's libs/uvit.py Block). With
/// <see cref="Skip"/> it first fuses a long skip: x = Linear(concat(x, skip)) from 2·Dim to Dim (U-ViT §3).
/// </summary>
public sealed record ViTBlockConfig(int Dim, int Heads, long Tokens, double MlpRatio = 4.0, bool QkvBias = false, bool Skip = false, double Eps = 1e-5)
{
    public int MlpHidden => (int)(Dim * MlpRatio);
}

/// <summary>Children as U-ViT's Block: norm1, attn (qkv, proj), norm2, mlp (fc1, fc2), skip_linear.</summary>
public sealed record ViTBlockPlan(string Path, ViTBlockConfig Config, Leaf<LayerNormSpec> Norm1, TokenAttention Attn, Leaf<LayerNormSpec> Norm2,
    TokenMlp Mlp, Leaf<LinearSpec>? SkipLinear) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => InputShape;

    /// <summary>12D² + 10D (+ 3D with qkv bias) for MlpRatio 4, plus 2D² + D with a skip.</summary>
    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "Block", OutputShape,
        [Norm1.Module, Attn.Module, Norm2.Module, Mlp.Module, SkipLinear?.Module]);
}

/// <summary>
/// x ← [Linear(concat(x, skip))]; x += Attn(LN(x)); x += MLP(LN(x)) with exact GELU (Vaswani et al. 2017; Dosovitskiy et al. 2021).
/// Linears N(0, 0.02²) with zero biases and LayerNorms γ = 1, β = 0, as U-ViT's _init_weights.
/// </summary>
public static class ViTBlock
{
    public static readonly InitScheme UViTInit = new InitScheme.Normal(0.02);

    public static Checked<ViTBlockPlan> Plan(ViTBlockConfig c, string path = "block") => Checked.Of(
        [
            .. Rules.Positive(c.Dim, path, "dim"), .. Rules.Positive(c.Heads, path, "heads"), .. Rules.Positive(c.Tokens, path, "tokens"),
            .. Rules.HeadsDivide(c.Heads, c.Dim, path),
            .. Rules.Require(c.MlpRatio > 0 && c.MlpHidden > 0, path, $"mlp_ratio={c.MlpRatio} must give a positive hidden width"),
        ],
        () =>
        {
            var norm = new LayerNormSpec(c.Dim, c.Eps);
            long[] tokens = [c.Tokens, c.Dim];
            return new ViTBlockPlan(path, c, norm.Declare("norm1", tokens), TokenAttention.Declare(c.Dim, c.Heads, c.Tokens, c.QkvBias, UViTInit),
                norm.Declare("norm2", tokens), TokenMlp.Declare(c.Dim, c.MlpHidden, c.Tokens, Activation.GELU, UViTInit),
                c.Skip ? new LinearSpec(2 * c.Dim, c.Dim).Declare("skip_linear", c.Tokens, UViTInit) : null);
        });

    /// <summary>x (N, T, D), skip (N, T, D) when planned with one → (N, T, D).</summary>
    public static Tensor Forward(ViTBlockPlan p, Params w, Tensor x, Tensor? skip = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        if (p.SkipLinear is { } sl)
        {
            if (skip is null) throw new ArgumentNullException(nameof(skip), $"{p.Path}: this block fuses a long skip connection");
            Guard.Input(p.Path, p.InputShape, skip, "skip");
            x = sl.Forward(w, torch.cat([x, skip], 2)); // (N, T, 2D) → (N, T, D)
        }
        x = x + p.Attn.Forward(w, p.Norm1.Forward(w, x));                  // (N, T, D)
        return (x + p.Mlp.Forward(w, p.Norm2.Forward(w, x))).MoveToOuterDisposeScope();
    }
}
