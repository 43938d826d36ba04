using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>A DiT transformer block over Tokens tokens of width Dim, conditioned on a CondDim vector (default Dim).</summary>
public sealed record DiTBlockConfig(int Dim, int Heads, long Tokens, double MlpRatio = 4.0, int? CondDim = null)
{
    public int Cond => CondDim ?? Dim;

    public int MlpHidden => (int)(Dim * MlpRatio);
}

/// <summary>Children as DiT's models.py: norm1, attn (qkv, proj), norm2, mlp (fc1, fc2), adaLN_modulation.1; the norms have no affine.</summary>
public sealed record DiTBlockPlan(string Path, DiTBlockConfig Config, Leaf<LayerNormSpec> Norm1, TokenAttention Attn, Leaf<LayerNormSpec> Norm2,
    TokenMlp Mlp, AdaLN Modulation) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => InputShape;

    /// <summary>18D² + 15D for MlpRatio 4 and CondDim = D, as DiT's official counts.</summary>
    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "DiTBlock", OutputShape,
        [Norm1.Module, Attn.Module, Norm2.Module, Mlp.Module, Modulation.Module]);
}

/// <summary>
/// adaLN's modulation <c>Sequential(SiLU, Linear(cond, k·D))</c>, zero-initialised (adaLN-Zero: each block starts as the
/// identity, Peebles &amp; Xie 2023 §3.2). Forward returns the k chunks (N, D) of Linear(SiLU(c)).
/// </summary>
public sealed record AdaLN(int Cond, int Chunks, Leaf<LinearSpec> Linear) : IDeclared
{
    public static AdaLN Declare(int cond, int dim, int chunks) => new(cond, chunks, new LinearSpec(cond, chunks * dim).Declare("1", init: InitScheme.Zero));

    public Module Module => field ??= Module.Group("adaLN_modulation", "Sequential", [Linear.Spec.Out], [Module.Op("0", "SiLU", [Cond]), Linear.Module]);

    public Tensor[] Forward(Params block, Tensor c) => Linear.Forward(block[this], F.silu(c)).chunk(Chunks, 1);
}

/// <summary>
/// DiT block with adaLN-Zero (Peebles &amp; Xie 2023 §3.2): (shift, scale, gate)×2 = Linear(SiLU(c));
/// x += gate_msa·Attn(modulate(LN(x))); x += gate_mlp·MLP(modulate(LN(x))). Linears Xavier-uniform with zero biases
/// (DiT's initialize_weights), the modulation zero.
/// </summary>
public static class DiTBlock
{
    public static Checked<DiTBlockPlan> Plan(DiTBlockConfig c, string path = "block") => Checked.Of(
        [
            .. Rules.Positive(c.Dim, path, "dim"), .. Rules.Positive(c.Heads, path, "heads"), .. Rules.Positive(c.Tokens, path, "tokens"),
            .. Rules.Positive(c.Cond, path, "cond_dim"), .. Rules.HeadsDivide(c.Heads, c.Dim, path),
            .. Rules.Require(c.MlpRatio > 0 && c.MlpHidden > 0, path, $"mlp_ratio={c.MlpRatio} must give a positive hidden width"),
        ],
        () =>
        {
            var norm = new LayerNormSpec(c.Dim, 1e-6, Affine: false);
            long[] tokens = [c.Tokens, c.Dim];
            return new DiTBlockPlan(path, c, norm.Declare("norm1", tokens), TokenAttention.Declare(c.Dim, c.Heads, c.Tokens, true, InitScheme.Xavier),
                norm.Declare("norm2", tokens), TokenMlp.Declare(c.Dim, c.MlpHidden, c.Tokens, Activation.GELUTanh, InitScheme.Xavier),
                AdaLN.Declare(c.Cond, c.Dim, 6));
        });

    /// <summary>x (N, T, D), c (N, CondDim) → (N, T, D).</summary>
    public static Tensor Forward(DiTBlockPlan p, Params w, Tensor x, Tensor c)
    {
        Guard.Input(p.Path, p.InputShape, x);
        Guard.Vector(p.Path, p.Config.Cond, x.size(0), c, "c");
        using var scope = torch.NewDisposeScope();
        var mod = p.Modulation.Forward(w, c);                                            // 6 × (N, D)
        var h = AdaptiveNorm.ModulateTokens(p.Norm1.Forward(w, x), mod[0], mod[1]);      // (N, T, D)
        var y = x + mod[2].unsqueeze(1) * p.Attn.Forward(w, h);                          // (N, T, D)
        h = AdaptiveNorm.ModulateTokens(p.Norm2.Forward(w, y), mod[3], mod[4]);
        return (y + mod[5].unsqueeze(1) * p.Mlp.Forward(w, h)).MoveToOuterDisposeScope(); // (N, T, D)
    }
}

/// <summary>DiT's FinalLayer: adaLN (shift, scale) then Linear(D → p^r·C_out); both zero-initialised.</summary>
public sealed record FinalLayerConfig(int Dim, int Patch, int OutChannels, int Rank, long Tokens, int? CondDim = null)
{
    public int Cond => CondDim ?? Dim;

    public int PatchOut => (int)Math.Pow(Patch, Rank) * OutChannels;
}

public sealed record FinalLayerPlan(string Path, FinalLayerConfig Config, Leaf<LayerNormSpec> Norm, Leaf<LinearSpec> Linear, AdaLN Modulation) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => [Config.Tokens, Config.PatchOut];

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "FinalLayer", OutputShape, [Norm.Module, Linear.Module, Modulation.Module]);
}

public static class FinalLayer
{
    public static Checked<FinalLayerPlan> Plan(FinalLayerConfig c, string path = "final_layer") => Checked.Of(
        [
            .. Rules.Positive(c.Dim, path, "dim"), .. Rules.Positive(c.Patch, path, "patch_size"), .. Rules.Positive(c.OutChannels, path, "out_channels"),
            .. Rules.Require(c.Rank is 2 or 3, path, $"rank={c.Rank} must be 2 or 3"), .. Rules.Positive(c.Tokens, path, "tokens"),
            .. Rules.Positive(c.Cond, path, "cond_dim"),
        ],
        () => new FinalLayerPlan(path, c, new LayerNormSpec(c.Dim, 1e-6, Affine: false).Declare("norm_final", [c.Tokens, c.Dim]),
            new LinearSpec(c.Dim, c.PatchOut).Declare("linear", c.Tokens, InitScheme.Zero), AdaLN.Declare(c.Cond, c.Dim, 2)));

    /// <summary>x (N, T, D), c (N, CondDim) → (N, T, p^r·C_out); follow with <see cref="PatchEmbed.Unpatchify"/>.</summary>
    public static Tensor Forward(FinalLayerPlan p, Params w, Tensor x, Tensor c)
    {
        Guard.Input(p.Path, p.InputShape, x);
        Guard.Vector(p.Path, p.Config.Cond, x.size(0), c, "c");
        using var scope = torch.NewDisposeScope();
        var mod = p.Modulation.Forward(w, c); // shift, scale: (N, D)
        var h = AdaptiveNorm.ModulateTokens(p.Norm.Forward(w, x), mod[0], mod[1]);
        return p.Linear.Forward(w, h).MoveToOuterDisposeScope();
    }
}
