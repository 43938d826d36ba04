using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>Self-attention over all positions of a 2-D or 3-D feature map; Heads must divide Channels.</summary>
public sealed record AttentionConfig(int Channels, Spatial Size, int Heads = 1, int? Groups = null, double Eps = 1e-6);

public sealed record AttentionPlan(string Path, AttentionConfig Config, GroupNormSpec Norm, LinearSpec Proj) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.Channels);

    public long[] OutputShape => InputShape;

    public long ParameterCount => Norm.ParameterCount + 4 * Proj.ParameterCount;
}

/// <summary>diffusers' attention names: group_norm, to_q, to_k, to_v, to_out.0 (DDPM's NIN q, k, v, proj_out have the same counts).</summary>
public sealed record AttentionParams(NormParams GroupNorm, LinearParams ToQ, LinearParams ToK, LinearParams ToV, LinearParams ToOut) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Sub("group_norm", GroupNorm).Concat(Sub("to_q", ToQ)).Concat(Sub("to_k", ToK)).Concat(Sub("to_v", ToV)).Concat(Sub("to_out.0", ToOut));
}

/// <summary>
/// x + W_o·MHA(GroupNorm(x)) over the L = ∏ size positions (DDPM's AttnBlock; Vaswani et al. 2017 eq. 1 per head).
/// </summary>
public static class SpatialAttention
{
    public static Validation<string, AttentionPlan> Plan(AttentionConfig c, string path = "attn")
    {
        var groups = c.Groups ?? (c.Channels > 0 ? GroupNorm.ChooseGroups(c.Channels) : 1);
        var problems = Rules.Positive(c.Channels, path, "channels") + c.Size.Check(path) + Rules.Positive(c.Heads, path, "heads")
            + Rules.Require(c.Heads <= 0 || c.Channels <= 0 || c.Channels % c.Heads == 0, path, $"heads={c.Heads} does not divide dim={c.Channels}")
            + new GroupNormSpec(Math.Max(c.Channels, 1), groups, c.Eps).Check(Rules.Child(path, "group_norm"))
                .Filter(_ => c.Channels > 0);
        return Rules.Build(problems, () => new AttentionPlan(path, c, new GroupNormSpec(c.Channels, groups, c.Eps), new LinearSpec(c.Channels, c.Channels)));
    }

    public static AttentionParams Init(AttentionPlan p, Generator g, InitScheme? scheme = null, InitScheme? outScheme = null) =>
        new(GroupNorm.Init(p.Norm), Linear.Init(p.Proj, g, scheme), Linear.Init(p.Proj, g, scheme), Linear.Init(p.Proj, g, scheme),
            Linear.Init(p.Proj, g, outScheme ?? scheme));

    /// <summary>(N, C, *size) → (N, C, *size).</summary>
    public static Tensor Forward(AttentionPlan p, AttentionParams w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        long n = shape[0], c = p.Config.Channels, heads = p.Config.Heads, d = c / heads;
        var h = GroupNorm.Forward(p.Norm, w.GroupNorm, x).flatten(2).transpose(1, 2); // (N, L, C)
        var q = SplitHeads(Linear.Forward(w.ToQ, h), heads, d);                       // (N, heads, L, d)
        var k = SplitHeads(Linear.Forward(w.ToK, h), heads, d);
        var v = SplitHeads(Linear.Forward(w.ToV, h), heads, d);
        var a = F.scaled_dot_product_attention(q, k, v);                              // (N, heads, L, d)
        var merged = a.transpose(1, 2).reshape(n, -1, c);                             // (N, L, C)
        var o = Linear.Forward(w.ToOut, merged).transpose(1, 2).reshape(shape);       // (N, C, *size)
        return (x + o).MoveToOuterDisposeScope();
    }

    /// <summary>(N, L, heads·d) → (N, heads, L, d).</summary>
    internal static Tensor SplitHeads(Tensor t, long heads, long d) => t.unflatten(2, heads, d).transpose(1, 2);
}
