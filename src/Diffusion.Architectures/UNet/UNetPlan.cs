using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// A validated U-Net: the resolved tree of block plans, its children named and ordered as diffusers' UNet2DModel's
/// state_dict (metadata_embedding is this library's addition). Time features are either <see cref="Sinusoidal"/> or
/// <see cref="Fourier"/>; the class table has NumClasses + 1 rows (the null class).
/// </summary>
public sealed record UNetPlan(
    UNetConfig Config, Spatial Size, Leaf<ConvSpec> ConvIn, SinusoidalSpec? Sinusoidal, Leaf<FourierSpec>? Fourier, TimeMlp TimeEmbedding,
    Leaf<EmbeddingSpec>? ClassEmbedding, TimeMlp? MetadataEmbedding, IReadOnlyList<EncoderStagePlan> Down, MidBlockPlan Mid,
    IReadOnlyList<DecoderStagePlan> Up, Leaf<GroupNormSpec> NormOut, Leaf<ConvSpec> ConvOut) : IModelPlan
{
    ModelConfig IModelPlan.Config => Config;

    public long[] InputShape => Size.WithChannels(Config.InChannels);

    public long[] OutputShape => Size.WithChannels(Config.Out);

    public Module Module => field ??= Module.Group("", "UNet", OutputShape,
    [
        ConvIn.Module, Sinusoidal?.Declare("time_proj"), Fourier?.Module, TimeEmbedding.Module, ClassEmbedding?.Module, MetadataEmbedding?.Module,
        .. Down.Select(d => d.Module), Mid.Module, .. Up.Select(u => u.Module),
        NormOut.Module, Module.Op("conv_act", "SiLU", NormOut.Module.Shape), ConvOut.Module,
    ]);

    public IScoreModel Build(Generator generator) => new UNet(this, generator);
}

/// <summary>Config → plan: every problem at once, each with its path (e.g. <c>unet.down_blocks.2.resnets.0: …</c>).</summary>
internal static class UNetPlanner
{
    private const string Root = "unet";

    public static Checked<UNetPlan> Plan(UNetConfig c)
    {
        var structure = Structure(c);
        if (structure.Count > 0) return Checked.Fail<UNetPlan>([.. structure, .. Options(c)]); // blocks need a sound skeleton

        int levels = c.Levels, rank = c.Size.Length, temb = c.TembDim;
        var size = new Spatial(c.Size.ToArray());
        var halving = Halving(c, size);
        var levelSize = Enumerable.Range(0, levels).Select(i => size.Map(d => Math.Max(1, d >> i))).ToArray();
        var attention = levelSize.Select(s => c.AttentionResolutions.Contains(s.Dims.Max())).ToArray();
        var unmatched = c.AttentionResolutions.SelectMany((r, i) => Rules.Require(levelSize.Any(s => s.Dims.Max() == r),
            Rules.Child(Root, $"attention_resolutions[{i}]"), $"{r} matches no level (level resolutions: {string.Join(", ", levelSize.Select(s => s.Dims.Max()))})")).ToList();
        // Blocks are planned with a halvable stand-in size when the real one fails, so only the size problem is reported for it.
        if (halving.Any()) levelSize = Enumerable.Range(0, levels).Select(i => Spatial.Cube(1 << (levels - 1 - i), rank)).ToArray();

        // Network-wide scalars are reported once by Options, so the blocks get valid stand-ins rather than each repeating them.
        var instance = c.Norm == NormKind.Instance;
        var res = new ResOptions(instance || c.NormGroups <= 0 ? null : c.NormGroups, c.NormEps > 0 ? c.NormEps : 1e-6,
            c.Dropout is >= 0 and < 1 ? c.Dropout : 0, InstanceNorm: instance);
        var heads = Math.Max(1, c.AttentionHeads);
        int Ch(int level) => c.Channels * c.ChannelMult[level];

        SinusoidalSpec? sin = c.TimeEmbedding == TimeEmbeddingKind.Sinusoidal ? new SinusoidalSpec(c.Channels, c.FlipSinToCos, c.FreqShift) : null;
        FourierSpec? fourier = c.TimeEmbedding == TimeEmbeddingKind.Fourier ? new FourierSpec(c.Channels, c.FourierScale) : null;
        var timeProblems = sin?.Check(Rules.Child(Root, "time_proj")) ?? fourier!.Check(Rules.Child(Root, "time_proj"));

        // Encoder: skips are pushed in order and popped from the end by the decoder.
        var skips = new Stack<int>();
        if (c.Skip == SkipMode.Concat) skips.Push(c.Channels);
        var down = new List<Checked<EncoderStagePlan>>();
        var ch = c.Channels;
        for (var i = 0; i < levels; i++)
        {
            down.Add(EncoderStage.Plan(new EncoderStageConfig(ch, Ch(i), levelSize[i], c.NumResBlocks, temb, attention[i], heads, i < levels - 1, c.Down, res,
                c.DownsamplePadding), Rules.Child(Root, $"down_blocks.{i}")));
            for (var j = 0; j < c.NumResBlocks; j++) skips.Push(Ch(i));
            if (c.Skip == SkipMode.Concat && i < levels - 1) skips.Push(Ch(i)); // the downsample's output
            ch = Ch(i);
        }
        var mid = MidBlock.Plan(new MidBlockConfig(ch, levelSize[levels - 1], temb, c.MidAttention, heads, res), Rules.Child(Root, "mid_block"));

        var up = new List<Checked<DecoderStagePlan>>();
        for (var i = levels - 1; i >= 0; i--)
        {
            var consumed = Enumerable.Range(0, c.Skip == SkipMode.Concat ? c.NumResBlocks + 1 : c.NumResBlocks).Select(_ => skips.Pop()).ToArray();
            int? upOut = c.Skip == SkipMode.Add && i > 0 ? Ch(i - 1) : null;
            up.Add(DecoderStage.Plan(new DecoderStageConfig(ch, Ch(i), levelSize[i], consumed, temb, c.Skip, attention[i], heads, i > 0, c.Up, res, upOut),
                Rules.Child(Root, $"up_blocks.{levels - 1 - i}")));
            ch = upOut ?? Ch(i);
        }

        var normOut = res.Norm(ch);
        return Checked.Of([.. halving, .. Options(c), .. unmatched, .. timeProblems, .. normOut.Check(Rules.Child(Root, "conv_norm_out"))],
            down.All(), mid, up.All(), (d, m, u) =>
            {
                var tembSpec = new TimeMlpSpec(sin?.Dim ?? fourier!.Dim, temb, temb);
                return new UNetPlan(c, size, new ConvSpec(rank, c.InChannels, c.Channels, 3, 1, 1).Declare("conv_in", size.WithChannels(c.InChannels)),
                    sin, fourier?.Declare("time_proj"), tembSpec.Declare("time_embedding", "TimestepEmbedding", TimeMlpSpec.Diffusers),
                    c.NumClasses > 0 ? new EmbeddingSpec(c.NumClasses + 1, temb).Declare("class_embedding") : null,
                    c.MetadataDim > 0 ? (tembSpec with { In = c.MetadataDim }).Declare("metadata_embedding", "MetadataEmbedding", TimeMlpSpec.Diffusers) : null,
                    d, m, u, normOut.Declare("conv_norm_out", size.WithChannels(ch)), new ConvSpec(rank, ch, c.Out, 3, 1, 1).Declare("conv_out", size.WithChannels(ch)));
            });
    }

    /// <summary>Fields every block depends on; when one is wrong the blocks are not planned.</summary>
    private static List<string> Structure(UNetConfig c) =>
    [
        .. Rules.Positive(c.InChannels, Root, "in_channels"),
        .. Rules.Require(c.OutChannels is null or > 0, Root, $"out_channels={c.OutChannels} must be positive"),
        .. Rules.Positive(c.Channels, Root, "channels"),
        .. Rules.Require(c.ChannelMult.Length > 0, Root, "channel_mult must list at least one level"),
        .. c.ChannelMult.SelectMany((m, i) => Rules.Positive(m, Root, $"channel_mult[{i}]")),
        .. Rules.Positive(c.NumResBlocks, Root, "num_res_blocks"),
        .. Rules.Positive(c.TimeEmbedMult, Root, "time_embed_mult"),
        .. Rules.Require(c.Size.Length is 2 or 3, Rules.Child(Root, "size"), $"spatial rank={c.Size.Length} must be 2 (H, W) or 3 (D, H, W)"),
        .. Rules.Require(c.Size.All(d => d > 0), Rules.Child(Root, "size"), $"spatial size {string.Join("×", c.Size)} must be positive"),
        .. SizeLimits(c),
    ];

    /// <summary>
    /// The <see cref="Limits"/>, in 64-bit (or floating-point) arithmetic before any int arithmetic on the fields: the
    /// widths each level and the time embedding derive (channels·channel_mult[i], time_embed_mult·channels) are bounded too.
    /// </summary>
    private static IEnumerable<string> SizeLimits(UNetConfig c) =>
    [
        .. Limits.Width.Check(c.InChannels, Root, "in_channels"),
        .. Limits.Width.Check(c.OutChannels ?? 0, Root, "out_channels"),
        .. Limits.Width.Check(c.Channels, Root, "channels"),
        .. Limits.Levels.Check(c.ChannelMult.Length, Root, "levels (channel_mult's length)"),
        .. c.ChannelMult.Take((int)Limits.Levels.Max + 1).SelectMany((m, i) => Limits.Multiplier.Check(m, Root, $"channel_mult[{i}]")),
        .. Limits.Multiplier.Check(c.TimeEmbedMult, Root, "time_embed_mult"),
        // Derived widths, reported only when channels alone is within the limit (else each would repeat its problem).
        .. c.Channels > Limits.Width.Max ? [] : c.ChannelMult.Take((int)Limits.Levels.Max + 1)
            .SelectMany((m, i) => Limits.Width.Check((long)m * c.Channels, Root, $"channels·channel_mult[{i}]"))
            .Concat(Limits.Width.Check((long)c.TimeEmbedMult * c.Channels, Root, "time embedding width (time_embed_mult·channels)")),
        .. Limits.Repeats.Check(c.NumResBlocks, Root, "num_res_blocks"),
        .. c.Size.Take(3).SelectMany((d, i) => Limits.Side.Check(d, Rules.Child(Root, "size"), $"size[{i}]")),
        .. Limits.Elements.Check(Math.Max(1.0, c.InChannels) * c.Size.Aggregate(1.0, (a, d) => a * Math.Max(1, d)), Root, "elements per sample (in_channels × size)"),
        .. Limits.Width.Check(c.AttentionHeads, Root, "attention_heads"),
        .. Limits.Width.Check(c.NormGroups, Root, "norm_groups"),
        .. Limits.Width.Check(c.MetadataDim, Root, "metadata_dim"),
        .. Limits.Classes.Check(c.NumClasses, Root, "num_classes"),
    ];

    /// <summary>Network-wide scalars, reported once here rather than once per block.</summary>
    private static IEnumerable<string> Options(UNetConfig c) =>
    [
        .. Rules.Require(c.Norm == NormKind.Instance || c.NormGroups > 0, Root, $"norm_groups={c.NormGroups} must be positive"),
        .. Rules.Require(c.NormEps > 0, Root, $"norm_eps={c.NormEps} must be positive"),
        .. Rules.Require(c.Dropout is >= 0 and < 1, Root, $"dropout={c.Dropout} must lie in [0, 1)"),
        .. Rules.Positive(c.AttentionHeads, Root, "attention_heads"),
        .. Rules.Require(c.NumClasses >= 0, Root, $"num_classes={c.NumClasses} must be ≥ 0 (0: unconditional)"),
        .. Rules.Require(c.MetadataDim >= 0, Root, $"metadata_dim={c.MetadataDim} must be ≥ 0 (0: no metadata)"),
    ];

    /// <summary>Each of the Levels − 1 downsamples halves every dim exactly.</summary>
    private static IEnumerable<string> Halving(UNetConfig c, Spatial size)
    {
        var factor = 1 << (c.Levels - 1);
        var bad = size.Dims.Where(d => d % factor != 0).Distinct().ToArray();
        return bad.Length == 0 ? [] : [$"{Root}.size: {size} cannot be halved {c.Levels - 1} time(s), once per downsampling level "
            + $"({c.Levels} levels): every dim must be a multiple of {factor}, but {string.Join(", ", bad)} is not"];
    }
}
