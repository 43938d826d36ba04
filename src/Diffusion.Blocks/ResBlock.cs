using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>How the time embedding enters a ResBlock.</summary>
public enum TimeConditioning
{
    /// <summary>DDPM: h += Linear(SiLU(emb))[:, :, None, None] after the first conv.</summary>
    Additive,

    /// <summary>FiLM / "scale-shift norm" (Dhariwal &amp; Nichol 2021 §3): h = norm2(h)·(1 + scale) + shift.</summary>
    ScaleShift,
}

/// <summary>
/// The knobs of a ResBlock that stay fixed across a network (stage configs pass them down). <paramref name="InstanceNorm"/>
/// gives every norm one group per channel (Ulyanov et al. 2016, GroupNorm with G = C) whatever its width; Groups is then ignored.
/// </summary>
public sealed record ResOptions(
    int? Groups = null,
    double Eps = 1e-6,
    double Dropout = 0,
    TimeConditioning Conditioning = TimeConditioning.Additive,
    bool PreActivation = true,
    bool ConvBiasBeforeNorm = true,
    bool ScaleOutputBySqrt2 = false,
    bool ZeroInitLastConv = false,
    Activation Activation = Activation.SiLU,
    bool InstanceNorm = false)
{
    public static readonly ResOptions Default = new();

    /// <summary>The norm over <paramref name="channels"/>: one group per channel, the configured groups, or the usual choice.</summary>
    public GroupNormSpec Norm(int channels) =>
        new(channels, InstanceNorm ? Math.Max(channels, 1) : Groups ?? (channels > 0 ? GroupNorm.ChooseGroups(channels) : 1), Eps);

    /// <summary>Self-attention after a ResBlock of this network normalises as its ResBlocks do.</summary>
    public AttentionConfig Attention(int channels, Spatial size, int heads) => new(channels, size, heads, InstanceNorm ? channels : Groups, Eps);
}

/// <summary>A ResBlock from <paramref name="In"/> to <paramref name="Out"/> channels; TembDim 0 means no time input.</summary>
public sealed record ResBlockConfig(int In, int Out, Spatial Size, int TembDim, ResOptions? Options = null)
{
    public ResOptions Opt => Options ?? ResOptions.Default;
}

/// <summary>Children named as diffusers' ResnetBlock2D: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut.</summary>
public sealed record ResBlockPlan(string Path, ResBlockConfig Config, Leaf<GroupNormSpec> Norm1, Leaf<ConvSpec> Conv1, Leaf<LinearSpec>? TimeEmbProj,
    Leaf<GroupNormSpec> Norm2, Leaf<ConvSpec> Conv2, Leaf<ConvSpec>? Shortcut) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.WithChannels(Config.Out);

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "ResBlock", OutputShape,
        [Norm1.Module, Conv1.Module, TimeEmbProj?.Module, Norm2.Module, Conv2.Module, Shortcut?.Module]);

    /// <summary>
    /// True when an additive time embedding cannot reach the output because norm2 subtracts it again: in pre-activation
    /// the per-channel constant lands just before a GroupNorm with one channel per group (e.g. 32 channels, 32 groups);
    /// in post-activation conv2 keeps it constant only when a group holds a single element (1 channel at 1×1).
    /// Legal (diffusers' tiny test configs do the first), so a summary should warn.
    /// </summary>
    public bool TembErasedByNorm => TimeEmbProj is not null && Config.Opt.Conditioning == TimeConditioning.Additive
        && Norm2.Spec.Groups == Norm2.Spec.Channels && (Config.Opt.PreActivation || Config.Size.Positions == 1);
}

/// <summary>
/// The residual block of diffusion U-Nets (He et al. 2016 pre-activation form; DDPM, Ho et al. 2020 App. B):
/// h = conv1(act(norm1(x))); h += proj(act(emb)) broadcast over positions; h = conv2(dropout(act(norm2(h))));
/// out = (skip(x) + h) / (√2 if NCSN++-style scaling). skip is the identity, or a 1×1 conv when channels change.
/// Post-activation instead runs conv → norm → act, adding the skip before the last activation.
/// </summary>
public static class ResBlock
{
    public static Checked<ResBlockPlan> Plan(ResBlockConfig c, string path = "res")
    {
        var o = c.Opt;
        IEnumerable<string> problems =
        [
            .. Rules.Positive(c.In, path, "in_channels"), .. Rules.Positive(c.Out, path, "out_channels"), .. c.Size.Check(path),
            .. Rules.Require(c.TembDim >= 0, path, $"temb_channels={c.TembDim} must be ≥ 0 (0: no time embedding)"),
            .. Rules.Require(o.Groups is null or > 0, path, $"groups={o.Groups} must be positive"),
            .. Rules.Require(o.InstanceNorm || o.Groups is not > 0 || !o.PreActivation || c.In <= 0 || c.In % o.Groups == 0, path, $"groups={o.Groups} does not divide in_channels={c.In}"),
            .. Rules.Require(o.InstanceNorm || o.Groups is not > 0 || c.Out <= 0 || c.Out % o.Groups == 0, path, $"groups={o.Groups} does not divide out_channels={c.Out}"),
            .. Rules.Require(o.Dropout is >= 0 and < 1, path, $"dropout={o.Dropout} must lie in [0, 1)"),
            .. Rules.Require(o.Eps > 0, path, $"eps={o.Eps} must be positive"),
            .. Rules.Require(o.Conditioning == TimeConditioning.Additive || c.TembDim > 0, path, "scale-shift conditioning needs temb_channels > 0"),
        ];
        return Checked.Of(problems, () =>
        {
            var rank = c.Size.Rank;
            var bias1 = o.ConvBiasBeforeNorm;                    // conv1 feeds norm2 (pre) or norm1 (post)
            var bias2 = o.PreActivation || o.ConvBiasBeforeNorm; // conv2 feeds norm2 only in post-activation
            long[] input = c.Size.WithChannels(c.In), output = c.Size.WithChannels(c.Out);
            return new ResBlockPlan(path, c,
                o.Norm(o.PreActivation ? c.In : c.Out).Declare("norm1", o.PreActivation ? input : output),
                new ConvSpec(rank, c.In, c.Out, 3, 1, 1, bias1).Declare("conv1", input),
                c.TembDim > 0 ? new LinearSpec(c.TembDim, o.Conditioning == TimeConditioning.ScaleShift ? 2 * c.Out : c.Out).Declare("time_emb_proj") : null,
                o.Norm(c.Out).Declare("norm2", output),
                new ConvSpec(rank, c.Out, c.Out, 3, 1, 1, bias2).Declare("conv2", output, o.ZeroInitLastConv ? InitScheme.Zero : null),
                c.In != c.Out ? new ConvSpec(rank, c.In, c.Out, 1).Declare("conv_shortcut", input) : null);
        });
    }

    /// <summary>
    /// (N, In, *size), temb (N, TembDim) → (N, Out, *size); <paramref name="w"/> is this block's parameters.
    /// Dropout is active only when a generator is given (training).
    /// </summary>
    public static Tensor Forward(ResBlockPlan p, Params w, Tensor x, Tensor? temb = null, Generator? dropout = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        if (p.TimeEmbProj is not null) Guard.Vector(p.Path, p.Config.TembDim, x.size(0), temb, "temb");
        var o = p.Config.Opt;
        using var scope = torch.NewDisposeScope();
        var e = p.TimeEmbProj?.Forward(w, o.Activation.Apply(temb!)); // (N, Out) or (N, 2·Out)
        Tensor h;
        if (o.PreActivation)
        {
            h = p.Conv1.Forward(w, p.Norm1.ForwardIntoMatmul(w, x, o.Activation)); // (N, Out, *size); norm→act fused under bf16
            if (e is not null && o.Conditioning == TimeConditioning.Additive) h = h + AdaptiveNorm.Broadcast(e, h); // emb[:, :, None, None]
            h = e is not null && o.Conditioning == TimeConditioning.ScaleShift
                ? o.Activation.Apply(FiLM(e, p.Norm2.Forward(w, h)))
                : p.Norm2.ForwardIntoMatmul(w, h, o.Activation);
            h = F.dropout(h, o.Dropout, dropout is not null && o.Dropout > 0, dropout);
            h = p.Conv2.Forward(w, h);                                          // (N, Out, *size)
        }
        else
        {
            h = p.Norm1.Forward(w, p.Conv1.Forward(w, x), o.Activation);       // (N, Out, *size)
            if (e is not null && o.Conditioning == TimeConditioning.Additive) h = h + AdaptiveNorm.Broadcast(e, h);
            h = F.dropout(h, o.Dropout, dropout is not null && o.Dropout > 0, dropout);
            h = p.Norm2.Forward(w, p.Conv2.Forward(w, h));
            if (e is not null && o.Conditioning == TimeConditioning.ScaleShift) h = FiLM(e, h);
        }
        var skip = p.Shortcut is null ? x : p.Shortcut.Forward(w, x); // (N, Out, *size)
        var y = skip + h;
        if (!o.PreActivation) y = o.Activation.Apply(y);
        if (o.ScaleOutputBySqrt2) y = y / Math.Sqrt(2);
        return y.MoveToOuterDisposeScope();
    }

    private static Tensor FiLM(Tensor e, Tensor h)
    {
        var parts = e.chunk(2, 1); // scale, shift: (N, Out) each — diffusers' order
        return AdaptiveNorm.ModulateChannels(h, parts[0], parts[1]);
    }
}
