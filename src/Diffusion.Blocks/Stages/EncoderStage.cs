using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>
/// One U-Net resolution level on the way down: Layers ResBlocks (In → Out, then Out → Out), each optionally followed by
/// self-attention, then an optional downsample. Names follow diffusers' DownBlock2D: resnets.i, attentions.i, downsamplers.0.
/// </summary>
public sealed record EncoderStageConfig(int In, int Out, Spatial Size, int Layers, int TembDim, bool Attention = false, int Heads = 1,
    bool Downsample = true, DownsampleKind DownKind = DownsampleKind.StridedConv, ResOptions? Res = null,
    DownsamplePadding Padding = DownsamplePadding.Same);

public sealed record EncoderStagePlan(string Path, EncoderStageConfig Config, IReadOnlyList<ResBlockPlan> Resnets, IReadOnlyList<AttentionPlan> Attentions,
    DownsamplePlan? Downsampler) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Downsampler?.OutputShape ?? Resnets[^1].OutputShape;

    /// <summary>Per-sample shapes of the skip activations, in the order produced: after each layer, then after the downsample.</summary>
    public IReadOnlyList<long[]> SkipShapes => [.. Resnets.Select(r => r.OutputShape), .. Downsampler is null ? [] : new[] { Downsampler.OutputShape }];

    /// <summary>Children in diffusers' state_dict order: every ResBlock, every attention, then the downsampler.</summary>
    public Module Module => field ??= Module.Group(Rules.Leaf(Path), Attentions.Count > 0 ? "AttnDownBlock" : "DownBlock", OutputShape,
        [.. Resnets.Select(r => r.Module), .. Attentions.Select(a => a.Module), Downsampler?.Module]);
}

public static class EncoderStage
{
    public static Checked<EncoderStagePlan> Plan(EncoderStageConfig c, string path = "down")
    {
        IEnumerable<string> head = [.. Rules.Positive(c.Layers, path, "layers"), .. c.Size.Check(path)];
        if (head.Any()) return Checked.Fail<EncoderStagePlan>(head);
        return Checked.Of([],
            Enumerable.Range(0, c.Layers).Select(i =>
                ResBlock.Plan(new ResBlockConfig(i == 0 ? c.In : c.Out, c.Out, c.Size, c.TembDim, c.Res), Rules.Child(path, $"resnets.{i}"))).All(),
            Enumerable.Range(0, c.Attention ? c.Layers : 0)
                .Select(i => SpatialAttention.Plan((c.Res ?? ResOptions.Default).Attention(c.Out, c.Size, c.Heads), Rules.Child(path, $"attentions.{i}"))).All(),
            Checked.Optional(c.Downsample, () => Downsample.Plan(new DownsampleConfig(c.Out, c.Out, c.Size, c.DownKind, c.Padding), Rules.Child(path, "downsamplers.0"))),
            (r, a, d) => new EncoderStagePlan(path, c, r, a, d));
    }

    /// <summary>(N, In, *size), temb → output (N, Out, *size[/2]) and the skip activations (<see cref="EncoderStagePlan.SkipShapes"/>).</summary>
    public static (Tensor Output, Tensor[] Skips) Forward(EncoderStagePlan p, Params w, Tensor x, Tensor? temb = null, Generator? dropout = null)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var skips = new List<Tensor>();
        var h = x;
        for (var i = 0; i < p.Resnets.Count; i++)
        {
            h = ResBlock.Forward(p.Resnets[i], w[p.Resnets[i]], h, temb, dropout); // (N, Out, *size)
            if (p.Attentions.Count > 0) h = SpatialAttention.Forward(p.Attentions[i], w[p.Attentions[i]], h);
            skips.Add(h);
        }
        if (p.Downsampler is not null)
        {
            h = Downsample.Forward(p.Downsampler, w[p.Downsampler], h); // (N, Out, *size/2)
            skips.Add(h);
        }
        foreach (var s in skips) s.MoveToOuterDisposeScope();
        if (!skips.Contains(h)) h.MoveToOuterDisposeScope();
        return (h, skips.ToArray());
    }
}
