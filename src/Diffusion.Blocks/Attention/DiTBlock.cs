using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>A DiT transformer block over Tokens tokens of width Dim, conditioned on a CondDim vector (default Dim).</summary>
public sealed record DiTBlockConfig(int Dim, int Heads, long Tokens, double MlpRatio = 4.0, int? CondDim = null)
{
    public int Cond => CondDim ?? Dim;

    public int MlpHidden => (int)(Dim * MlpRatio);
}

public sealed record DiTBlockPlan(string Path, DiTBlockConfig Config, LayerNormSpec Norm, LinearSpec Qkv, LinearSpec Proj,
    LinearSpec Fc1, LinearSpec Fc2, LinearSpec AdaLN) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => InputShape;

    /// <summary>18D² + 15D for MlpRatio 4 and CondDim = D, as DiT's official counts.</summary>
    public long ParameterCount => Qkv.ParameterCount + Proj.ParameterCount + Fc1.ParameterCount + Fc2.ParameterCount + AdaLN.ParameterCount;
}

/// <summary>Names as DiT's models.py: attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1 (norm1/norm2 have no affine).</summary>
public sealed record DiTBlockParams(LinearParams Qkv, LinearParams Proj, LinearParams Fc1, LinearParams Fc2, LinearParams AdaLN) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Sub("attn.qkv", Qkv).Concat(Sub("attn.proj", Proj)).Concat(Sub("mlp.fc1", Fc1)).Concat(Sub("mlp.fc2", Fc2)).Concat(Sub("adaLN_modulation.1", AdaLN));
}

/// <summary>
/// DiT block with adaLN-Zero (Peebles &amp; Xie 2023 §3.2): (shift, scale, gate)×2 = Linear(SiLU(c)), zero-initialised so
/// each block starts as the identity; x += gate_msa·Attn(modulate(LN(x))); x += gate_mlp·MLP(modulate(LN(x))).
/// </summary>
public static class DiTBlock
{
    public static Validation<string, DiTBlockPlan> Plan(DiTBlockConfig c, string path = "block")
    {
        var problems = Rules.Positive(c.Dim, path, "dim") + Rules.Positive(c.Heads, path, "heads") + Rules.Positive(c.Tokens, path, "tokens")
            + Rules.Positive(c.Cond, path, "cond_dim")
            + Rules.Require(c.Heads <= 0 || c.Dim <= 0 || c.Dim % c.Heads == 0, path, $"heads={c.Heads} does not divide dim={c.Dim}")
            + Rules.Require(c.MlpRatio > 0 && c.MlpHidden > 0, path, $"mlp_ratio={c.MlpRatio} must give a positive hidden width");
        return Rules.Build(problems, () => new DiTBlockPlan(path, c, new LayerNormSpec(c.Dim, 1e-6, Affine: false),
            new LinearSpec(c.Dim, 3 * c.Dim), new LinearSpec(c.Dim, c.Dim), new LinearSpec(c.Dim, c.MlpHidden), new LinearSpec(c.MlpHidden, c.Dim),
            new LinearSpec(c.Cond, 6 * c.Dim)));
    }

    /// <summary>DiT's initialize_weights: Xavier-uniform would be its choice for linears; here the given scheme; adaLN zero.</summary>
    public static DiTBlockParams Init(DiTBlockPlan p, Generator g, InitScheme? scheme = null) => new(
        Linear.Init(p.Qkv, g, scheme), Linear.Init(p.Proj, g, scheme), Linear.Init(p.Fc1, g, scheme), Linear.Init(p.Fc2, g, scheme),
        Linear.Init(p.AdaLN, g, InitScheme.Zero));

    /// <summary>x (N, T, D), c (N, CondDim) → (N, T, D).</summary>
    public static Tensor Forward(DiTBlockPlan p, DiTBlockParams w, Tensor x, Tensor c)
    {
        Guard.Input(p.Path, p.InputShape, x);
        Guard.Vector(p.Path, p.Config.Cond, x.size(0), c, "c");
        using var scope = torch.NewDisposeScope();
        var mod = Linear.Forward(w.AdaLN, F.silu(c)).chunk(6, 1); // 6 × (N, D)
        var none = new NormParams(null, null);
        var h = AdaptiveNorm.ModulateTokens(LayerNorm.Forward(p.Norm, none, x), mod[0], mod[1]); // (N, T, D)
        var y = x + mod[2].unsqueeze(1) * Attention(p, w, h);                                   // (N, T, D)
        h = AdaptiveNorm.ModulateTokens(LayerNorm.Forward(p.Norm, none, y), mod[3], mod[4]);
        var m = Linear.Forward(w.Fc2, F.gelu(Linear.Forward(w.Fc1, h), "tanh"));               // (N, T, D)
        return (y + mod[5].unsqueeze(1) * m).MoveToOuterDisposeScope();
    }

    /// <summary>timm's Attention: qkv in one linear, heads of width D/heads, output projection.</summary>
    private static Tensor Attention(DiTBlockPlan p, DiTBlockParams w, Tensor h)
    {
        long n = h.size(0), t = h.size(1), d = p.Config.Dim, heads = p.Config.Heads;
        var qkv = Linear.Forward(w.Qkv, h).reshape(n, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4); // (3, N, heads, T, d/heads)
        var a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);                             // (N, heads, T, d/heads)
        return Linear.Forward(w.Proj, a.transpose(1, 2).reshape(n, t, d));                          // (N, T, D)
    }
}

/// <summary>DiT's FinalLayer: adaLN (shift, scale) then Linear(D → p^r·C_out); both zero-initialised.</summary>
public sealed record FinalLayerConfig(int Dim, int Patch, int OutChannels, int Rank, long Tokens, int? CondDim = null)
{
    public int Cond => CondDim ?? Dim;

    public int PatchOut => (int)Math.Pow(Patch, Rank) * OutChannels;
}

public sealed record FinalLayerPlan(string Path, FinalLayerConfig Config, LayerNormSpec Norm, LinearSpec Linear, LinearSpec AdaLN) : IBlockPlan
{
    public long[] InputShape => [Config.Tokens, Config.Dim];

    public long[] OutputShape => [Config.Tokens, Config.PatchOut];

    public long ParameterCount => Linear.ParameterCount + AdaLN.ParameterCount;
}

public sealed record FinalLayerParams(LinearParams Linear, LinearParams AdaLN) : Params
{
    public override IEnumerable<NamedTensor> Named() => Sub("linear", Linear).Concat(Sub("adaLN_modulation.1", AdaLN));
}

public static class FinalLayer
{
    public static Validation<string, FinalLayerPlan> Plan(FinalLayerConfig c, string path = "final_layer") =>
        Rules.Build(Rules.Positive(c.Dim, path, "dim") + Rules.Positive(c.Patch, path, "patch_size") + Rules.Positive(c.OutChannels, path, "out_channels")
                + Rules.Require(c.Rank is 2 or 3, path, $"rank={c.Rank} must be 2 or 3") + Rules.Positive(c.Tokens, path, "tokens") + Rules.Positive(c.Cond, path, "cond_dim"),
            () => new FinalLayerPlan(path, c, new LayerNormSpec(c.Dim, 1e-6, Affine: false), new LinearSpec(c.Dim, c.PatchOut), new LinearSpec(c.Cond, 2 * c.Dim)));

    public static FinalLayerParams Init(FinalLayerPlan p, Generator g) => new(Linear.Init(p.Linear, g, InitScheme.Zero), Linear.Init(p.AdaLN, g, InitScheme.Zero));

    /// <summary>x (N, T, D), c (N, CondDim) → (N, T, p^r·C_out); follow with <see cref="PatchEmbed.Unpatchify"/>.</summary>
    public static Tensor Forward(FinalLayerPlan p, FinalLayerParams w, Tensor x, Tensor c)
    {
        Guard.Input(p.Path, p.InputShape, x);
        Guard.Vector(p.Path, p.Config.Cond, x.size(0), c, "c");
        using var scope = torch.NewDisposeScope();
        var mod = Linear.Forward(w.AdaLN, F.silu(c)).chunk(2, 1); // shift, scale: (N, D)
        var h = AdaptiveNorm.ModulateTokens(LayerNorm.Forward(p.Norm, new NormParams(null, null), x), mod[0], mod[1]);
        return Linear.Forward(w.Linear, h).MoveToOuterDisposeScope();
    }
}
