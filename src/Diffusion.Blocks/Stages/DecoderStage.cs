using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using static LanguageExt.Prelude;

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

public sealed record DecoderStagePlan(string Path, DecoderStageConfig Config, Seq<ResBlockPlan> Resnets, Seq<AttentionPlan> Attentions,
    UpsamplePlan? Upsampler) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public Seq<long[]> SkipShapes => Config.SkipChannels.Select(s => Config.Size.WithChannels(s)).ToSeq();

    public long[] OutputShape => Upsampler?.OutputShape ?? Resnets.Last.OutputShape;

    public long ParameterCount => Resnets.Sum(r => r.ParameterCount) + Attentions.Sum(a => a.ParameterCount) + (Upsampler?.ParameterCount ?? 0);
}

public sealed record DecoderStageParams(Seq<ResBlockParams> Resnets, Seq<AttentionParams> Attentions, UpsampleParams? Upsampler) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Resnets.SelectMany((r, i) => Sub($"resnets.{i}", r)).Concat(Attentions.SelectMany((a, i) => Sub($"attentions.{i}", a)))
            .Concat(Sub("upsamplers.0", Upsampler));
}

public static class DecoderStage
{
    public static Validation<string, DecoderStagePlan> Plan(DecoderStageConfig c, string path = "up")
    {
        var head = Rules.Require(c.SkipChannels.Length > 0, path, "skip_channels must name at least one skip (one ResBlock each)") + c.Size.Check(path)
            + Rules.Positive(c.In, path, "in_channels");
        if (!head.IsEmpty) return Validation<string, DecoderStagePlan>.Fail(head);
        var problems = Seq<string>();
        var res = new List<Validation<string, ResBlockPlan>>();
        for (var i = 0; i < c.SkipChannels.Length; i++)
        {
            var current = i == 0 ? c.In : c.Out;
            var skip = c.SkipChannels[i];
            problems += Rules.Positive(skip, path, $"skip_channels[{i}]");
            if (c.Mode == SkipMode.Add)
                problems += Rules.Require(skip == current, path,
                    $"skip_mode=add: skip[{i}] has {skip} channels but the activation it is added to has {current} (addition needs equal channels; use concat)");
            var resIn = c.Mode == SkipMode.Concat ? current + skip : current;
            res.Add(ResBlock.Plan(new ResBlockConfig(resIn, c.Out, c.Size, c.TembDim, c.Res), Rules.Child(path, $"resnets.{i}")));
        }
        var attn = c.Attention
            ? Enumerable.Range(0, res.Count).Select(i => SpatialAttention.Plan(new AttentionConfig(c.Out, c.Size, c.Heads, c.Res is { InstanceNorm: true } ? c.Out : c.Res?.Groups, c.Res?.Eps ?? 1e-6),
                Rules.Child(path, $"attentions.{i}"))).ToSeq()
            : Seq<Validation<string, AttentionPlan>>();
        Validation<string, UpsamplePlan>? up = c.Upsample ? Upsample.Plan(new UpsampleConfig(c.Out, c.UpOut ?? c.Out, c.Size, c.UpKind), Rules.Child(path, "upsamplers.0")) : (Validation<string, UpsamplePlan>?)null;
        problems += Rules.Each(res, v => v.Problems()) + Rules.Each(attn, v => v.Problems()) + (up?.Problems() ?? Seq<string>());
        return Rules.Build(problems, () => new DecoderStagePlan(path, c, res.ToSeq().Map(v => v.OrThrow()).Strict(), attn.Map(v => v.OrThrow()).Strict(), up?.OrThrow()));
    }

    public static DecoderStageParams Init(DecoderStagePlan p, Generator g, InitScheme? scheme = null) => new(
        p.Resnets.Map(r => ResBlock.Init(r, g, scheme)).Strict(), p.Attentions.Map(a => SpatialAttention.Init(a, g, scheme)).Strict(),
        p.Upsampler is { } u ? Upsample.Init(u, g, scheme) : null);

    /// <summary>(N, In, *size), skips in the order consumed, temb → (N, Out, *size[·2]).</summary>
    public static Tensor Forward(DecoderStagePlan p, DecoderStageParams w, Tensor x, IReadOnlyList<Tensor> skips, Tensor? temb = null, Generator? dropout = null)
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
            h = ResBlock.Forward(p.Resnets[i], w.Resnets[i], h, temb, dropout);               // (N, Out, *size)
            if (p.Attentions.Count > 0) h = SpatialAttention.Forward(p.Attentions[i], w.Attentions[i], h);
        }
        if (p.Upsampler is not null) h = Upsample.Forward(p.Upsampler, w.Upsampler!, h); // (N, Out, *2·size)
        return h.MoveToOuterDisposeScope();
    }
}
