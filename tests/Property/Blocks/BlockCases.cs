using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;

namespace Diffusion.Property.Tests;

/// <summary>One block under test, type-erased so a single law runs over every block type.</summary>
public sealed record BlockCase(string Kind, IBlockPlan Plan, int TembDim, Func<Params, Tensor, Tensor?, Tensor> Forward)
{
    /// <summary>Parameters drawn from the plan's one declaration, as every model draws its own.</summary>
    public Params Init(Generator g) => Params.Init(Plan.Module, g);

    public override string ToString() => $"{Kind} {Plan.Path}: [{string.Join(", ", Plan.InputShape)}] → [{string.Join(", ", Plan.OutputShape)}]";
}

/// <summary>Generators of random valid configs (channels ≤ 64, 2-D ≤ 16², 3-D ≤ 8³) for every block type.</summary>
public static class BlockCases
{
    public static readonly Gen<int> Channels = Gen.Elements(8, 16, 24, 32, 48, 64);

    public static Gen<Spatial> Size(bool even = true) =>
        from rank in Gen.Elements(2, 3)
        from dims in Gen.Choose(1, rank == 2 ? 8 : 4).Select(d => even ? 2 * d : 2 * d - 1).ArrayOf(rank)
        select new Spatial(dims);

    public static readonly Gen<ResOptions> Options =
        from cond in Gen.Elements(TimeConditioning.Additive, TimeConditioning.ScaleShift)
        from pre in Gen.Elements(true, false)
        from bias in Gen.Elements(true, false)
        from sqrt2 in Gen.Elements(true, false)
        from zero in Gen.Elements(true, false)
        from groups in Gen.Elements<int?>(null, 8)
        select new ResOptions(groups, 1e-6, 0.1, cond, pre, bias, sqrt2, zero);

    public static readonly Gen<ResBlockConfig> ResConfigs =
        from i in Channels from o in Channels from s in Size(false) from t in Gen.Elements(0, 16, 32) from opt in Options
        let c = new ResBlockConfig(i, o, s, opt.Conditioning == TimeConditioning.ScaleShift && t == 0 ? 16 : t, opt)
        select c;

    public static BlockCase Res(ResBlockConfig c)
    {
        var p = ResBlock.Plan(c).OrThrow();
        return new("ResBlock", p, c.TembDim, (w, x, t) => ResBlock.Forward(p, w, x, t));
    }

    public static BlockCase Down(DownsampleConfig c)
    {
        var p = Downsample.Plan(c).OrThrow();
        return new("Downsample", p, 0, (w, x, _) => Downsample.Forward(p, w, x));
    }

    public static BlockCase Up(UpsampleConfig c)
    {
        var p = Upsample.Plan(c).OrThrow();
        return new("Upsample", p, 0, (w, x, _) => Upsample.Forward(p, w, x));
    }

    private static readonly Gen<BlockCase> Resnets = ResConfigs.Select(Res);

    private static readonly Gen<BlockCase> Downs =
        from i in Channels from o in Channels from s in Size() from k in Gen.Elements(DownsampleKind.StridedConv, DownsampleKind.AvgPool)
        from pad in Gen.Elements(DownsamplePadding.Same, DownsamplePadding.Symmetric)
        select Down(new DownsampleConfig(i, o, s, k, pad));

    private static readonly Gen<BlockCase> Ups =
        from i in Channels from o in Channels from s in Size().Select(s => s.Map(d => Math.Max(1, d / 2))) from k in Gen.Elements(UpsampleKind.NearestConv, UpsampleKind.TransposedConv)
        select Up(new UpsampleConfig(i, o, s, k));

    private static readonly Gen<BlockCase> Attentions =
        from c in Channels from s in Size(false) from h in Gen.Elements(1, 2, 4, 8)
        let p = SpatialAttention.Plan(new AttentionConfig(c, s, h)).OrThrow()
        select new BlockCase("Attention", p, 0, (w, x, _) => SpatialAttention.Forward(p, w, x));

    private static readonly Gen<BlockCase> Patches =
        from c in Gen.Choose(1, 8) from d in Channels from rank in Gen.Elements(2, 3) from patch in Gen.Elements(1, 2, 4)
        from grid in Gen.Choose(1, rank == 2 ? 4 : 2).ArrayOf(rank)
        let p = PatchEmbed.Plan(new PatchEmbedConfig(c, d, new Spatial(grid.Select(k => k * patch).ToArray()), patch)).OrThrow()
        select new BlockCase("PatchEmbed", p, 0, (w, x, _) => PatchEmbed.Forward(p, w, x));

    private static readonly Gen<BlockCase> DiTs =
        from d in Channels from h in Gen.Elements(1, 2, 4, 8) from t in Gen.Choose(1, 32) from r in Gen.Elements(1.0, 2.0, 4.0)
        let p = DiTBlock.Plan(new DiTBlockConfig(d, h, t, r)).OrThrow()
        select new BlockCase("DiTBlock", p, d, (w, x, c) => DiTBlock.Forward(p, w, x, c!));

    private static readonly Gen<BlockCase> Finals =
        from d in Channels from patch in Gen.Elements(1, 2) from o in Gen.Choose(1, 4) from rank in Gen.Elements(2, 3) from t in Gen.Choose(1, 16)
        let p = FinalLayer.Plan(new FinalLayerConfig(d, patch, o, rank, t)).OrThrow()
        select new BlockCase("FinalLayer", p, d, (w, x, c) => FinalLayer.Forward(p, w, x, c!));

    private static readonly Gen<BlockCase> Encoders =
        from i in Channels from o in Channels from s in Size() from layers in Gen.Choose(1, 2) from attn in Gen.Elements(true, false)
        from down in Gen.Elements(true, false) from opt in Options
        let p = EncoderStage.Plan(new EncoderStageConfig(i, o, s, layers, 16, attn, 2, down, Res: opt)).OrThrow()
        select new BlockCase("EncoderStage", p, 16, (w, x, t) => EncoderStage.Forward(p, w, x, t).Output);

    private static readonly Gen<BlockCase> Decoders =
        from i in Channels from o in Channels from s in Size(false) from skips in Channels.ArrayOf().Where(a => a.Length is > 0 and <= 3)
        from up in Gen.Elements(true, false) from opt in Options
        let p = DecoderStage.Plan(new DecoderStageConfig(i, o, s, skips, 16, Upsample: up, Res: opt)).OrThrow()
        select new BlockCase("DecoderStage", p, 16, (w, x, t) =>
        {
            using var rng = new Generator(99);
            var sk = p.SkipShapes.Select(sh => torch.randn([x.size(0), .. sh], rng)).ToArray();
            return DecoderStage.Forward(p, w, x, sk, t);
        });

    private static readonly Gen<BlockCase> Mids =
        from c in Channels from s in Size(false) from attn in Gen.Elements(true, false) from opt in Options
        let p = MidBlock.Plan(new MidBlockConfig(c, s, 16, attn, 1, opt)).OrThrow()
        select new BlockCase("MidBlock", p, 16, (w, x, t) => MidBlock.Forward(p, w, x, t));

    private static readonly Gen<BlockCase> ViTs =
        from d in Channels from h in Gen.Elements(1, 2, 4, 8) from t in Gen.Choose(1, 32) from bias in Gen.Elements(true, false) from skip in Gen.Elements(true, false)
        let p = ViTBlock.Plan(new ViTBlockConfig(d, h, t, 4.0, bias, skip)).OrThrow()
        select new BlockCase("ViTBlock", p, 0, (w, x, _) => ViTBlock.Forward(p, w, x, skip ? x * 0.5 : null));

    /// <summary>Every block type, each equally likely.</summary>
    public static readonly Gen<BlockCase> Any = Gen.OneOf(Resnets, Downs, Ups, Attentions, Patches, DiTs, Finals, Encoders, Decoders, Mids, ViTs);
}
