using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>The U-Net's bottom: ResBlock → optional self-attention → ResBlock at one size (diffusers' UNetMidBlock2D).</summary>
public sealed record MidBlockConfig(int Channels, Spatial Size, int TembDim, bool Attention = true, int Heads = 1, ResOptions? Res = null);

/// <summary>Children as diffusers: resnets.0, attentions.0, resnets.1.</summary>
public sealed record MidBlockPlan(string Path, MidBlockConfig Config, ResBlockPlan First, AttentionPlan? Attention, ResBlockPlan Second) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.Channels);

    public long[] OutputShape => InputShape;

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "MidBlock", OutputShape, [First.Module, Attention?.Module, Second.Module]);
}

public static class MidBlock
{
    public static Checked<MidBlockPlan> Plan(MidBlockConfig c, string path = "mid_block")
    {
        var res = new ResBlockConfig(c.Channels, c.Channels, c.Size, c.TembDim, c.Res);
        return Checked.Of([], ResBlock.Plan(res, Rules.Child(path, "resnets.0")),
            Checked.Optional(c.Attention, () => SpatialAttention.Plan((c.Res ?? ResOptions.Default).Attention(c.Channels, c.Size, c.Heads), Rules.Child(path, "attentions.0"))),
            ResBlock.Plan(res, Rules.Child(path, "resnets.1")),
            (a, attn, b) => new MidBlockPlan(path, c, a, attn, b));
    }

    /// <summary>(N, C, *size), temb → (N, C, *size).</summary>
    public static Tensor Forward(MidBlockPlan p, Params w, Tensor x, Tensor? temb = null, Generator? dropout = null)
    {
        using var scope = torch.NewDisposeScope();
        var h = ResBlock.Forward(p.First, w[p.First], x, temb, dropout);
        if (p.Attention is not null) h = SpatialAttention.Forward(p.Attention, w[p.Attention], h);
        return ResBlock.Forward(p.Second, w[p.Second], h, temb, dropout).MoveToOuterDisposeScope();
    }
}
