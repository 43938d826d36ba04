using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
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
}

/// <summary>A ResBlock from <paramref name="In"/> to <paramref name="Out"/> channels; TembDim 0 means no time input.</summary>
public sealed record ResBlockConfig(int In, int Out, Spatial Size, int TembDim, ResOptions? Options = null)
{
    public ResOptions Opt => Options ?? ResOptions.Default;
}

public sealed record ResBlockPlan(string Path, ResBlockConfig Config, GroupNormSpec Norm1, ConvSpec Conv1, LinearSpec? TimeEmbProj,
    GroupNormSpec Norm2, ConvSpec Conv2, ConvSpec? Shortcut) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.WithChannels(Config.Out);

    /// <summary>
    /// True when an additive time embedding cannot reach the output because norm2 subtracts it again: in pre-activation
    /// the per-channel constant lands just before a GroupNorm with one channel per group (e.g. 32 channels, 32 groups);
    /// in post-activation conv2 keeps it constant only when a group holds a single element (1 channel at 1×1).
    /// Legal (diffusers' tiny test configs do the first), so a summary should warn.
    /// </summary>
    public bool TembErasedByNorm => TimeEmbProj is not null && Config.Opt.Conditioning == TimeConditioning.Additive
        && Norm2.Groups == Norm2.Channels && (Config.Opt.PreActivation || Config.Size.Positions == 1);

    public long ParameterCount => Norm1.ParameterCount + Conv1.ParameterCount + (TimeEmbProj?.ParameterCount ?? 0)
        + Norm2.ParameterCount + Conv2.ParameterCount + (Shortcut?.ParameterCount ?? 0);
}

/// <summary>Names follow diffusers' ResnetBlock2D: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut.</summary>
public sealed record ResBlockParams(NormParams Norm1, ConvParams Conv1, LinearParams? TimeEmbProj, NormParams Norm2, ConvParams Conv2, ConvParams? ConvShortcut) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Sub("norm1", Norm1).Concat(Sub("conv1", Conv1)).Concat(Sub("time_emb_proj", TimeEmbProj))
            .Concat(Sub("norm2", Norm2)).Concat(Sub("conv2", Conv2)).Concat(Sub("conv_shortcut", ConvShortcut));
}

/// <summary>
/// The residual block of diffusion U-Nets (He et al. 2016 pre-activation form; DDPM, Ho et al. 2020 App. B):
/// h = conv1(act(norm1(x))); h += proj(act(emb)) broadcast over positions; h = conv2(dropout(act(norm2(h))));
/// out = (skip(x) + h) / (√2 if NCSN++-style scaling). skip is the identity, or a 1×1 conv when channels change.
/// Post-activation instead runs conv → norm → act, adding the skip before the last activation.
/// </summary>
public static class ResBlock
{
    public static Validation<string, ResBlockPlan> Plan(ResBlockConfig c, string path = "res")
    {
        var o = c.Opt;
        var rank = c.Size.Rank;
        var g1 = o.InstanceNorm ? Math.Max(c.In, 1) : o.Groups ?? (c.In > 0 ? GroupNorm.ChooseGroups(c.In) : 1);
        var g2 = o.InstanceNorm ? Math.Max(c.Out, 1) : o.Groups ?? (c.Out > 0 ? GroupNorm.ChooseGroups(c.Out) : 1);
        var problems = Rules.Positive(c.In, path, "in_channels") + Rules.Positive(c.Out, path, "out_channels")
            + c.Size.Check(path)
            + Rules.Require(c.TembDim >= 0, path, $"temb_channels={c.TembDim} must be ≥ 0 (0: no time embedding)")
            + Rules.Require(o.Groups is null or > 0, path, $"groups={o.Groups} must be positive")
            + Rules.Require(o.InstanceNorm || o.Groups is not > 0 || !o.PreActivation || c.In <= 0 || c.In % o.Groups == 0, path, $"groups={o.Groups} does not divide in_channels={c.In}")
            + Rules.Require(o.InstanceNorm || o.Groups is not > 0 || c.Out <= 0 || c.Out % o.Groups == 0, path, $"groups={o.Groups} does not divide out_channels={c.Out}")
            + Rules.Require(o.Dropout is >= 0 and < 1, path, $"dropout={o.Dropout} must lie in [0, 1)")
            + Rules.Require(o.Eps > 0, path, $"eps={o.Eps} must be positive")
            + Rules.Require(o.Conditioning == TimeConditioning.Additive || c.TembDim > 0, path, "scale-shift conditioning needs temb_channels > 0");
        return Rules.Build(problems, () =>
        {
            var bias1 = o.ConvBiasBeforeNorm;                      // conv1 feeds norm2 (pre) or norm1 (post)
            var bias2 = o.PreActivation || o.ConvBiasBeforeNorm;   // conv2 feeds norm2 only in post-activation
            var norm1Channels = o.PreActivation ? c.In : c.Out;
            return new ResBlockPlan(path, c,
                new GroupNormSpec(norm1Channels, o.PreActivation ? g1 : g2, o.Eps),
                new ConvSpec(rank, c.In, c.Out, 3, 1, 1, bias1),
                c.TembDim > 0 ? new LinearSpec(c.TembDim, o.Conditioning == TimeConditioning.ScaleShift ? 2 * c.Out : c.Out) : null,
                new GroupNormSpec(c.Out, g2, o.Eps),
                new ConvSpec(rank, c.Out, c.Out, 3, 1, 1, bias2),
                c.In != c.Out ? new ConvSpec(rank, c.In, c.Out, 1) : null);
        });
    }

    public static ResBlockParams Init(ResBlockPlan p, Generator g, InitScheme? scheme = null) => new(
        GroupNorm.Init(p.Norm1), Conv.Init(p.Conv1, g, scheme),
        p.TimeEmbProj is { } t ? Linear.Init(t, g, scheme) : null,
        GroupNorm.Init(p.Norm2), Conv.Init(p.Conv2, g, p.Config.Opt.ZeroInitLastConv ? InitScheme.Zero : scheme),
        p.Shortcut is { } s ? Conv.Init(s, g, scheme) : null);

    /// <summary>
    /// (N, In, *size), temb (N, TembDim) → (N, Out, *size). Dropout is active only when a generator is given (training).
    /// </summary>
    public static Tensor Forward(ResBlockPlan p, ResBlockParams w, Tensor x, Tensor? temb = null, Generator? dropout = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        if (p.TimeEmbProj is not null) Guard.Vector(p.Path, p.Config.TembDim, x.size(0), temb, "temb");
        var o = p.Config.Opt;
        using var scope = torch.NewDisposeScope();
        var e = p.TimeEmbProj is null ? null : Linear.Forward(w.TimeEmbProj!, o.Activation.Apply(temb!)); // (N, Out) or (N, 2·Out)
        Tensor h;
        if (o.PreActivation)
        {
            h = Conv.Forward(p.Conv1, w.Conv1, o.Activation.Apply(GroupNorm.Forward(p.Norm1, w.Norm1, x))); // (N, Out, *size)
            h = Condition(p, w, h, e);                                                                        // (N, Out, *size)
            h = F.dropout(h, o.Dropout, dropout is not null && o.Dropout > 0, dropout);
            h = Conv.Forward(p.Conv2, w.Conv2, h);                                                            // (N, Out, *size)
        }
        else
        {
            h = o.Activation.Apply(GroupNorm.Forward(p.Norm1, w.Norm1, Conv.Forward(p.Conv1, w.Conv1, x)));  // (N, Out, *size)
            if (e is not null && o.Conditioning == TimeConditioning.Additive) h = h + AdaptiveNorm.Broadcast(e, h);
            h = F.dropout(h, o.Dropout, dropout is not null && o.Dropout > 0, dropout);
            h = Conv.Forward(p.Conv2, w.Conv2, h);
            h = GroupNorm.Forward(p.Norm2, w.Norm2, h);
            if (e is not null && o.Conditioning == TimeConditioning.ScaleShift) h = FiLM(e, h);
        }
        var skip = w.ConvShortcut is null ? x : Conv.Forward(p.Shortcut!, w.ConvShortcut, x); // (N, Out, *size)
        var y = skip + h;
        if (!o.PreActivation) y = o.Activation.Apply(y);
        if (o.ScaleOutputBySqrt2) y = y / Math.Sqrt(2);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Pre-activation middle: add emb then norm2 → act, or norm2 → FiLM → act.</summary>
    private static Tensor Condition(ResBlockPlan p, ResBlockParams w, Tensor h, Tensor? e)
    {
        var o = p.Config.Opt;
        if (e is not null && o.Conditioning == TimeConditioning.Additive) h = h + AdaptiveNorm.Broadcast(e, h); // emb[:, :, None, None]
        h = GroupNorm.Forward(p.Norm2, w.Norm2, h);
        if (e is not null && o.Conditioning == TimeConditioning.ScaleShift) h = FiLM(e, h);
        return o.Activation.Apply(h);
    }

    private static Tensor FiLM(Tensor e, Tensor h)
    {
        var parts = e.chunk(2, 1); // scale, shift: (N, Out) each — diffusers' order
        return AdaptiveNorm.ModulateChannels(h, parts[0], parts[1]);
    }
}
