using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>How a decoder consumes an encoder activation.</summary>
public enum SkipMode
{
    /// <summary>torch.cat([h, skip], dim=1): the ResBlock sees C_h + C_skip channels (DDPM, diffusers).</summary>
    Concat,

    /// <summary>h + skip: needs C_skip = C_h (the simplified U-Net of the seed notes).</summary>
    Add,
}

/// <summary>
/// One U-Net resolution level on the way up: a ResBlock per entry of SkipChannels (the skips in the order consumed —
/// a U-Net pops its encoder skips from the end), optional attention after each, then an optional upsample.
/// Names follow diffusers' UpBlock2D: resnets.i, attentions.i, upsamplers.0. <paramref name="UpOut"/> (default Out) lets the
/// upsampler's conv change the channels, so that an additive skip at the next level up is well-typed.
/// </summary>
public sealed record DecoderStageConfig(int In, int Out, Spatial Size, int[] SkipChannels, int TembDim, SkipMode Mode = SkipMode.Concat,
    bool Attention = false, int Heads = 1, bool Upsample = true, UpsampleKind UpKind = UpsampleKind.NearestConv, ResOptions? Res = null, int? UpOut = null);

public sealed record DecoderStagePlan(string Path, DecoderStageConfig Config, IReadOnlyList<ResBlockPlan> Resnets, IReadOnlyList<AttentionPlan> Attentions,
    UpsamplePlan? Upsampler) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public IReadOnlyList<long[]> SkipShapes => Config.SkipChannels.Select(s => Config.Size.WithChannels(s)).ToList();

    public long[] OutputShape => Upsampler?.OutputShape ?? Resnets[^1].OutputShape;

    /// <summary>Children in diffusers' state_dict order: every ResBlock, every attention, then the upsampler.</summary>
    public Module Module => field ??= Module.Group(Rules.Leaf(Path), Attentions.Count > 0 ? "AttnUpBlock" : "UpBlock", OutputShape,
        [.. Resnets.Select(r => r.Module), .. Attentions.Select(a => a.Module), Upsampler?.Module]);
}

public static class DecoderStage
{
    public static Checked<DecoderStagePlan> Plan(DecoderStageConfig c, string path = "up")
    {
        IEnumerable<string> head = [.. Rules.Require(c.SkipChannels.Length > 0, path, "skip_channels must name at least one skip (one ResBlock each)"),
            .. c.Size.Check(path), .. Rules.Positive(c.In, path, "in_channels")];
        if (head.Any()) return Checked.Fail<DecoderStagePlan>(head);
        var layers = c.SkipChannels.Length;
        int Current(int i) => i == 0 ? c.In : c.Out;
        var own = Enumerable.Range(0, layers).SelectMany(i => (IEnumerable<string>)
        [
            .. Rules.Positive(c.SkipChannels[i], path, $"skip_channels[{i}]"),
            .. Rules.Require(c.Mode != SkipMode.Add || c.SkipChannels[i] == Current(i), path,
                $"skip_mode=add: skip[{i}] has {c.SkipChannels[i]} channels but the activation it is added to has {Current(i)} (addition needs equal channels; use concat)"),
        ]);
        return Checked.Of(own,
            Enumerable.Range(0, layers).Select(i => ResBlock.Plan(new ResBlockConfig(c.Mode == SkipMode.Concat ? Current(i) + c.SkipChannels[i] : Current(i),
                c.Out, c.Size, c.TembDim, c.Res), Rules.Child(path, $"resnets.{i}"))).All(),
            Enumerable.Range(0, c.Attention ? layers : 0)
                .Select(i => SpatialAttention.Plan((c.Res ?? ResOptions.Default).Attention(c.Out, c.Size, c.Heads), Rules.Child(path, $"attentions.{i}"))).All(),
            Checked.Optional(c.Upsample, () => Upsample.Plan(new UpsampleConfig(c.Out, c.UpOut ?? c.Out, c.Size, c.UpKind), Rules.Child(path, "upsamplers.0"))),
            (r, a, u) => new DecoderStagePlan(path, c, r, a, u));
    }

    /// <summary>(N, In, *size), skips in the order consumed, temb → (N, Out, *size[·2]).</summary>
    public static Tensor Forward(DecoderStagePlan p, Params w, Tensor x, IReadOnlyList<Tensor> skips, Tensor? temb = null, Generator? dropout = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        if (skips.Count != p.Resnets.Count)
            throw new ArgumentException($"{p.Path}: expected {p.Resnets.Count} skip activations, got {skips.Count}", nameof(skips));
        using var scope = torch.NewDisposeScope();
        var h = x;
        for (var i = 0; i < p.Resnets.Count; i++)
        {
            Guard.Input(p.Path, p.SkipShapes[i], skips[i], $"skip[{i}]");
            h = p.Config.Mode == SkipMode.Concat ? torch.cat([h, skips[i]], 1) : h + skips[i]; // (N, C_h + C_skip | C_h, *size)
            h = ResBlock.Forward(p.Resnets[i], w[p.Resnets[i]], h, temb, dropout);            // (N, Out, *size)
            if (p.Attentions.Count > 0) h = SpatialAttention.Forward(p.Attentions[i], w[p.Attentions[i]], h);
        }
        if (p.Upsampler is not null) h = Upsample.Forward(p.Upsampler, w[p.Upsampler], h); // (N, Out, *2·size)
        return h.MoveToOuterDisposeScope();
    }
}
