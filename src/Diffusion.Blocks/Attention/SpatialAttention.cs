using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>Self-attention over all positions of a 2-D or 3-D feature map; Heads must divide Channels.</summary>
public sealed record AttentionConfig(int Channels, Spatial Size, int Heads = 1, int? Groups = null, double Eps = 1e-6);

/// <summary>diffusers' attention names: group_norm, to_q, to_k, to_v, to_out.0 (DDPM's NIN q, k, v, proj_out have the same counts).</summary>
public sealed record AttentionPlan(string Path, AttentionConfig Config, Leaf<GroupNormSpec> Norm, Leaf<LinearSpec> ToQ, Leaf<LinearSpec> ToK,
    Leaf<LinearSpec> ToV, Leaf<LinearSpec> ToOut) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.Channels);

    public long[] OutputShape => InputShape;

    /// <summary>QKᵀ and AV: L²·C multiply-accumulates each, over L = ∏ size positions.</summary>
    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "Attention", OutputShape,
    [
        Norm.Module, ToQ.Module, ToK.Module, ToV.Module,
        Module.Op("attention", "ScaledDotProduct", [Config.Size.Positions, Config.Channels], 2 * Config.Size.Positions * Config.Size.Positions * Config.Channels),
        ToOut.Module,
    ]);
}

/// <summary>
/// x + W_o·MHA(GroupNorm(x)) over the L = ∏ size positions (DDPM's AttnBlock; Vaswani et al. 2017 eq. 1 per head).
/// </summary>
public static class SpatialAttention
{
    public static Checked<AttentionPlan> Plan(AttentionConfig c, string path = "attn")
    {
        var norm = new GroupNormSpec(c.Channels, c.Groups ?? (c.Channels > 0 ? GroupNorm.ChooseGroups(c.Channels) : 1), c.Eps);
        IEnumerable<string> problems =
        [
            .. Rules.Positive(c.Channels, path, "channels"), .. c.Size.Check(path), .. Rules.Positive(c.Heads, path, "heads"),
            .. Rules.HeadsDivide(c.Heads, c.Channels, path),
            .. c.Channels > 0 ? norm.Check(Rules.Child(path, "group_norm")) : [],
        ];
        return Checked.Of(problems, () =>
        {
            var tokens = c.Size.Positions;
            var proj = new LinearSpec(c.Channels, c.Channels);
            return new AttentionPlan(path, c, norm.Declare("group_norm", c.Size.WithChannels(c.Channels)), proj.Declare("to_q", tokens),
                proj.Declare("to_k", tokens), proj.Declare("to_v", tokens), proj.Declare("to_out.0", tokens, shape: c.Size.WithChannels(c.Channels)));
        });
    }

    /// <summary>(N, C, *size) → (N, C, *size).</summary>
    public static Tensor Forward(AttentionPlan p, Params w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var shape = x.shape;
        long n = shape[0], c = p.Config.Channels, heads = p.Config.Heads;
        var h = p.Norm.ForwardIntoMatmul(w, x).flatten(2).transpose(1, 2); // (N, L, C)
        var q = SplitHeads(p.ToQ.Forward(w, h), heads);                   // (N, heads, L, C/heads)
        var k = SplitHeads(p.ToK.Forward(w, h), heads);
        var v = SplitHeads(p.ToV.Forward(w, h), heads);
        var a = F.scaled_dot_product_attention(q, k, v);                  // (N, heads, L, C/heads)
        var merged = a.transpose(1, 2).reshape(n, -1, c);                 // (N, L, C)
        var o = p.ToOut.Forward(w, merged).transpose(1, 2).reshape(shape); // (N, C, *size)
        return (x + o).MoveToOuterDisposeScope();
    }

    /// <summary>(N, L, heads·d) → (N, heads, L, d).</summary>
    internal static Tensor SplitHeads(Tensor t, long heads) => t.unflatten(2, heads, t.size(2) / heads).transpose(1, 2);
}
