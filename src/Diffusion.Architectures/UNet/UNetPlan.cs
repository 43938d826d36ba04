using Diffusion.Blocks;
using Diffusion.Primitives;
using LanguageExt;
using static LanguageExt.Prelude;

namespace Diffusion.Architectures;

/// <summary>
/// A validated U-Net: the resolved tree of block plans (diffusers' UNet2DModel names). Time features are either
/// <see cref="Sinusoidal"/> or <see cref="Fourier"/>; <see cref="ClassRows"/> is NumClasses + 1 (the null class) or 0.
/// </summary>
public sealed record UNetPlan(
    UNetConfig Config, Spatial Size, SinusoidalSpec? Sinusoidal, FourierSpec? Fourier, TimeMlpSpec TimeEmbedding,
    int ClassRows, TimeMlpSpec? MetadataEmbedding, ConvSpec ConvIn, Seq<EncoderStagePlan> Down,
    ResBlockPlan MidRes0, AttentionPlan? MidAttention, ResBlockPlan MidRes1, Seq<DecoderStagePlan> Up,
    GroupNormSpec NormOut, ConvSpec ConvOut)
{
    public long[] InputShape => Size.WithChannels(Config.InChannels);

    public long[] OutputShape => Size.WithChannels(Config.Out);

    public int TembDim => TimeEmbedding.Out;

    public long ParameterCount =>
        (Fourier?.ParameterCount ?? 0) + TimeEmbedding.ParameterCount + (long)ClassRows * TembDim + (MetadataEmbedding?.ParameterCount ?? 0)
        + ConvIn.ParameterCount + Down.Sum(d => d.ParameterCount)
        + MidRes0.ParameterCount + (MidAttention?.ParameterCount ?? 0) + MidRes1.ParameterCount
        + Up.Sum(u => u.ParameterCount) + NormOut.ParameterCount + ConvOut.ParameterCount;
}

/// <summary>Config → plan: every problem at once, each with its path (e.g. <c>unet.down_blocks.2.resnets.0: …</c>).</summary>
internal static class UNetPlanner
{
    private const string Root = "unet";

    public static Validation<string, UNetPlan> Plan(UNetConfig c)
    {
        var structure = Structure(c);
        if (!structure.IsEmpty) return Validation<string, UNetPlan>.Fail(structure.Concat(Options(c)).ToArray().ToSeq().Strict()); // blocks need a sound skeleton

        int levels = c.Levels, rank = c.Size.Length, temb = c.TembDim;
        var size = new Spatial(c.Size.ToArray());
        var halving = Halving(c, size);
        var levelSize = Enumerable.Range(0, levels).Select(i => size.Map(d => Math.Max(1, d >> i))).ToArray();
        var attention = levelSize.Select(s => c.AttentionResolutions.Contains(s.Dims.Max())).ToArray();
        // Problems are copied into a list as they are found: concatenating LanguageExt 3.4 Seqs that share a buffer lost entries here.
        var problems = new List<string>(halving);
        problems.AddRange(Options(c));
        for (var i = 0; i < c.AttentionResolutions.Length; i++)
        {
            var r = c.AttentionResolutions[i];
            problems.AddRange(Rules.Require(levelSize.Any(s => s.Dims.Max() == r), Rules.Child(Root, $"attention_resolutions[{i}]"),
                $"{r} matches no level (level resolutions: {string.Join(", ", levelSize.Select(s => s.Dims.Max()))})"));
        }
        // Blocks are planned with a halvable stand-in size when the real one fails, so only the size problem is reported for it.
        if (!halving.IsEmpty) levelSize = Enumerable.Range(0, levels).Select(i => Spatial.Cube(1 << (levels - 1 - i), rank)).ToArray();

        var instance = c.Norm == NormKind.Instance;
        var groups = c.NormGroups > 0 ? c.NormGroups : (int?)null;
        var res = new ResOptions(instance ? null : groups, c.NormEps > 0 ? c.NormEps : 1e-6, c.Dropout is >= 0 and < 1 ? c.Dropout : 0,
            TimeConditioning.Additive, PreActivation: true, ConvBiasBeforeNorm: true, InstanceNorm: instance);
        var heads = Math.Max(1, c.AttentionHeads);
        int Ch(int level) => c.Channels * c.ChannelMult[level];

        SinusoidalSpec? sin = c.TimeEmbedding == TimeEmbeddingKind.Sinusoidal ? new SinusoidalSpec(c.Channels) : null;
        FourierSpec? fourier = c.TimeEmbedding == TimeEmbeddingKind.Fourier ? new FourierSpec(c.Channels, c.FourierScale) : null;
        problems.AddRange(sin?.Check(Rules.Child(Root, "time_proj")) ?? fourier!.Check(Rules.Child(Root, "time_proj")));
        var timeMlp = new TimeMlpSpec(sin?.Dim ?? fourier!.Dim, temb, temb);
        var metadata = c.MetadataDim > 0 ? new TimeMlpSpec(c.MetadataDim, temb, temb) : null;
        var convIn = new ConvSpec(rank, c.InChannels, c.Channels, 3, 1, 1);

        // Encoder: skips are pushed in order and popped from the end by the decoder.
        var skips = new Stack<int>();
        if (c.Skip == SkipMode.Concat) skips.Push(c.Channels);
        var down = new List<Validation<string, EncoderStagePlan>>();
        var ch = c.Channels;
        for (var i = 0; i < levels; i++)
        {
            var stage = new EncoderStageConfig(ch, Ch(i), levelSize[i], c.NumResBlocks, temb, attention[i], heads, i < levels - 1, c.Down, res);
            down.Add(EncoderStage.Plan(stage, Rules.Child(Root, $"down_blocks.{i}")));
            problems.AddRange(down[^1].Problems());
            for (var j = 0; j < c.NumResBlocks; j++) skips.Push(Ch(i));
            if (c.Skip == SkipMode.Concat && i < levels - 1) skips.Push(Ch(i)); // the downsample's output
            ch = Ch(i);
        }

        var bottom = levelSize[levels - 1];
        var mid0 = ResBlock.Plan(new ResBlockConfig(ch, ch, bottom, temb, res), Rules.Child(Root, "mid_block.resnets.0"));
        var midAttn = c.MidAttention
            ? SpatialAttention.Plan(new AttentionConfig(ch, bottom, heads, instance ? ch : groups, res.Eps), Rules.Child(Root, "mid_block.attentions.0"))
            : (Validation<string, AttentionPlan>?)null;
        var mid1 = ResBlock.Plan(new ResBlockConfig(ch, ch, bottom, temb, res), Rules.Child(Root, "mid_block.resnets.1"));
        problems.AddRange(mid0.Problems());
        problems.AddRange(midAttn?.Problems() ?? Seq<string>());
        problems.AddRange(mid1.Problems());

        var up = new List<Validation<string, DecoderStagePlan>>();
        for (var i = levels - 1; i >= 0; i--)
        {
            var count = c.Skip == SkipMode.Concat ? c.NumResBlocks + 1 : c.NumResBlocks;
            var consumed = Enumerable.Range(0, count).Select(_ => skips.Pop()).ToArray();
            int? upOut = c.Skip == SkipMode.Add && i > 0 ? Ch(i - 1) : null;
            var stage = new DecoderStageConfig(ch, Ch(i), levelSize[i], consumed, temb, c.Skip, attention[i], heads, i > 0, c.Up, res, upOut);
            up.Add(DecoderStage.Plan(stage, Rules.Child(Root, $"up_blocks.{levels - 1 - i}")));
            problems.AddRange(up[^1].Problems());
            ch = upOut ?? Ch(i);
        }

        var normOut = new GroupNormSpec(ch, instance ? ch : groups ?? 1, res.Eps);
        var convOut = new ConvSpec(rank, ch, c.Out, 3, 1, 1);
        problems.AddRange(normOut.Check(Rules.Child(Root, "conv_norm_out")));
        return Rules.Build(problems.Distinct().ToArray().ToSeq().Strict(), () => new UNetPlan(c, size, sin, fourier, timeMlp, c.NumClasses > 0 ? c.NumClasses + 1 : 0, metadata,
            convIn, down.ToSeq().Map(v => v.OrThrow()).Strict(), mid0.OrThrow(), midAttn?.OrThrow(), mid1.OrThrow(),
            up.ToSeq().Map(v => v.OrThrow()).Strict(), normOut, convOut));
    }

    /// <summary>Fields every block depends on; when one is wrong the blocks are not planned.</summary>
    private static Seq<string> Structure(UNetConfig c)
    {
        var p = new List<string>();
        p.AddRange(Rules.Positive(c.InChannels, Root, "in_channels"));
        p.AddRange(Rules.Require(c.OutChannels is null or > 0, Root, $"out_channels={c.OutChannels} must be positive"));
        p.AddRange(Rules.Positive(c.Channels, Root, "channels"));
        p.AddRange(Rules.Require(c.ChannelMult.Length > 0, Root, "channel_mult must list at least one level"));
        for (var i = 0; i < c.ChannelMult.Length; i++) p.AddRange(Rules.Positive(c.ChannelMult[i], Root, $"channel_mult[{i}]"));
        p.AddRange(Rules.Positive(c.NumResBlocks, Root, "num_res_blocks"));
        p.AddRange(Rules.Positive(c.TimeEmbedMult, Root, "time_embed_mult"));
        p.AddRange(Rules.Require(c.Size.Length is 2 or 3, Rules.Child(Root, "size"), $"spatial rank={c.Size.Length} must be 2 (H, W) or 3 (D, H, W)"));
        p.AddRange(Rules.Require(c.Size.All(d => d > 0), Rules.Child(Root, "size"), $"spatial size {string.Join("×", c.Size)} must be positive"));
        return p.ToSeq().Strict();
    }

    /// <summary>Network-wide scalars, reported once here rather than once per block.</summary>
    private static Seq<string> Options(UNetConfig c) =>
        Rules.Require(c.Norm == NormKind.Instance || c.NormGroups > 0, Root, $"norm_groups={c.NormGroups} must be positive")
        + Rules.Require(c.NormEps > 0, Root, $"norm_eps={c.NormEps} must be positive")
        + Rules.Require(c.Dropout is >= 0 and < 1, Root, $"dropout={c.Dropout} must lie in [0, 1)")
        + Rules.Positive(c.AttentionHeads, Root, "attention_heads")
        + Rules.Require(c.NumClasses >= 0, Root, $"num_classes={c.NumClasses} must be ≥ 0 (0: unconditional)")
        + Rules.Require(c.MetadataDim >= 0, Root, $"metadata_dim={c.MetadataDim} must be ≥ 0 (0: no metadata)");

    /// <summary>Each of the Levels − 1 downsamples halves every dim exactly.</summary>
    private static Seq<string> Halving(UNetConfig c, Spatial size)
    {
        var factor = 1 << (c.Levels - 1);
        var bad = size.Dims.Where(d => d % factor != 0).Distinct().ToArray();
        return bad.Length == 0 ? Seq<string>() : Seq1($"{Root}.size: {size} cannot be halved {c.Levels - 1} time(s), once per downsampling level "
            + $"({c.Levels} levels): every dim must be a multiple of {factor}, but {string.Join(", ", bad)} is not");
    }
}
