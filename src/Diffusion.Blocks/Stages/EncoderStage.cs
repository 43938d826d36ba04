using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using static LanguageExt.Prelude;

namespace Diffusion.Blocks;

/// <summary>
/// One U-Net resolution level on the way down: Layers ResBlocks (In → Out, then Out → Out), each optionally followed by
/// self-attention, then an optional downsample. Names follow diffusers' DownBlock2D: resnets.i, attentions.i, downsamplers.0.
/// </summary>
public sealed record EncoderStageConfig(int In, int Out, Spatial Size, int Layers, int TembDim, bool Attention = false, int Heads = 1,
    bool Downsample = true, DownsampleKind DownKind = DownsampleKind.StridedConv, ResOptions? Res = null);

public sealed record EncoderStagePlan(string Path, EncoderStageConfig Config, Seq<ResBlockPlan> Resnets, Seq<AttentionPlan> Attentions,
    DownsamplePlan? Downsampler) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Downsampler?.OutputShape ?? Resnets.Last.OutputShape;

    /// <summary>Per-sample shapes of the skip activations, in the order produced: after each layer, then after the downsample.</summary>
    public Seq<long[]> SkipShapes => Resnets.Map(r => r.OutputShape) + (Downsampler is null ? Seq<long[]>() : Seq1(Downsampler.OutputShape));

    public long ParameterCount => Resnets.Sum(r => r.ParameterCount) + Attentions.Sum(a => a.ParameterCount) + (Downsampler?.ParameterCount ?? 0);
}

public sealed record EncoderStageParams(Seq<ResBlockParams> Resnets, Seq<AttentionParams> Attentions, DownsampleParams? Downsampler) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Resnets.SelectMany((r, i) => Sub($"resnets.{i}", r)).Concat(Attentions.SelectMany((a, i) => Sub($"attentions.{i}", a)))
            .Concat(Sub("downsamplers.0", Downsampler));
}

public static class EncoderStage
{
    public static Validation<string, EncoderStagePlan> Plan(EncoderStageConfig c, string path = "down")
    {
        var head = Rules.Positive(c.Layers, path, "layers") + c.Size.Check(path);
        if (!head.IsEmpty) return Validation<string, EncoderStagePlan>.Fail(head);
        var res = Enumerable.Range(0, c.Layers).Select(i =>
            ResBlock.Plan(new ResBlockConfig(i == 0 ? c.In : c.Out, c.Out, c.Size, c.TembDim, c.Res), Rules.Child(path, $"resnets.{i}"))).ToSeq();
        var attn = c.Attention
            ? Enumerable.Range(0, c.Layers).Select(i => SpatialAttention.Plan(new AttentionConfig(c.Out, c.Size, c.Heads, c.Res is { InstanceNorm: true } ? c.Out : c.Res?.Groups, c.Res?.Eps ?? 1e-6),
                Rules.Child(path, $"attentions.{i}"))).ToSeq()
            : Seq<Validation<string, AttentionPlan>>();
        var down = c.Downsample
            ? Downsample.Plan(new DownsampleConfig(c.Out, c.Out, c.Size, c.DownKind), Rules.Child(path, "downsamplers.0"))
            : (Validation<string, DownsamplePlan>?)null;
        var problems = Rules.Each(res, v => v.Problems()) + Rules.Each(attn, v => v.Problems()) + (down?.Problems() ?? Seq<string>());
        return Rules.Build(problems, () => new EncoderStagePlan(path, c, res.Map(v => v.OrThrow()), attn.Map(v => v.OrThrow()),
            down?.OrThrow()));
    }

    public static EncoderStageParams Init(EncoderStagePlan p, Generator g, InitScheme? scheme = null) => new(
        p.Resnets.Map(r => ResBlock.Init(r, g, scheme)).Strict(), p.Attentions.Map(a => SpatialAttention.Init(a, g, scheme)).Strict(),
        p.Downsampler is { } d ? Downsample.Init(d, g, scheme) : null);

    /// <summary>(N, In, *size), temb → output (N, Out, *size[/2]) and the skip activations (<see cref="EncoderStagePlan.SkipShapes"/>).</summary>
    public static (Tensor Output, Tensor[] Skips) Forward(EncoderStagePlan p, EncoderStageParams w, Tensor x, Tensor? temb = null, Generator? dropout = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var skips = new List<Tensor>();
        var h = x;
        for (var i = 0; i < p.Resnets.Count; i++)
        {
            h = ResBlock.Forward(p.Resnets[i], w.Resnets[i], h, temb, dropout); // (N, Out, *size)
            if (p.Attentions.Count > 0) h = SpatialAttention.Forward(p.Attentions[i], w.Attentions[i], h);
            skips.Add(h);
        }
        if (p.Downsampler is not null)
        {
            h = Downsample.Forward(p.Downsampler, w.Downsampler!, h); // (N, Out, *size/2)
            skips.Add(h);
        }
        foreach (var s in skips) s.MoveToOuterDisposeScope();
        if (!skips.Contains(h)) h.MoveToOuterDisposeScope();
        return (h, skips.ToArray());
    }
}
