using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;

namespace Diffusion.Architectures;

/// <summary>
/// U-ViT (Bao et al. 2023, "All are Worth Words"), with the constructor arguments of baofff/U-ViT libs/uvit.py:
/// patches of an ImgSize² image, the time (and class) as extra tokens in front, Depth/2 in-blocks, a mid-block and
/// Depth/2 out-blocks whose long skips from the in-blocks are fused by concat + Linear, then LayerNorm, a linear
/// decoder to patches, unpatchify and (Conv) a 3×3 conv. Depth = 12 is the paper's 13-layer U-ViT-S.
/// NumClasses = 0 is unconditional (the repository's num_classes=-1); for guidance include the null class in NumClasses
/// as its ImageNet configs do (1001). Defaults are configs/cifar10_uvit.py (U-ViT-S/2, 44,255,328 parameters).
/// </summary>
public sealed record UViTConfig(int ImgSize = 32, int PatchSize = 2, int InChans = 3, int EmbedDim = 512, int Depth = 12, int NumHeads = 8,
    double MlpRatio = 4.0, bool QkvBias = false, bool MlpTimeEmbed = false, int NumClasses = 0, bool Conv = true, bool Skip = true,
    PredictionTarget Target = PredictionTarget.Noise) : ModelConfig, IHasLayerPlan
{
    public override long[] InputShape => [InChans, ImgSize, ImgSize];

    /// <summary>Tokens in front of the patches: the time token, and the label token when class-conditional.</summary>
    public int Extras => NumClasses > 0 ? 2 : 1;

    private int Grid => PatchSize > 0 ? ImgSize / PatchSize : 0;

    private long Patches => (long)Grid * Grid;

    private PatchEmbedConfig PatchEmbedding => new(InChans, EmbedDim, new Spatial(ImgSize, ImgSize), PatchSize);

    private ViTBlockConfig Block(bool skip) => new(EmbedDim, NumHeads, Math.Max(1, Extras + Patches), MlpRatio, QkvBias, skip);

    public override Seq<string> Check() =>
        (PatchEmbed.Plan(PatchEmbedding, "uvit.patch_embed").Problems()
            + Rules.Require(Depth >= 0 && Depth % 2 == 0, "uvit", $"depth={Depth} must be even and ≥ 0 (depth/2 in-blocks, a mid-block, depth/2 out-blocks)")
            + ViTBlock.Plan(Block(Skip), "uvit.blocks").Problems()
            + Rules.Require(EmbedDim <= 0 || EmbedDim % 2 == 0, "uvit.time_embed", $"embed_dim={EmbedDim} must be even (sinusoidal time token)")
            + Rules.Require(NumClasses >= 0, "uvit.label_emb", $"num_classes={NumClasses} must be ≥ 0 (0: unconditional)")).Distinct();

    public UViTPlan Plan()
    {
        var problems = Check();
        if (!problems.IsEmpty) throw new ConfigException(problems);
        var half = Depth / 2;
        return new UViTPlan(this, PatchEmbed.Plan(PatchEmbedding, "uvit.patch_embed").OrThrow(),
            Enumerable.Range(0, half).Select(i => ViTBlock.Plan(Block(false), $"uvit.in_blocks.{i}").OrThrow()).ToList(),
            ViTBlock.Plan(Block(false), "uvit.mid_block").OrThrow(),
            Enumerable.Range(0, half).Select(i => ViTBlock.Plan(Block(Skip), $"uvit.out_blocks.{i}").OrThrow()).ToList(),
            new LayerNormSpec(EmbedDim), new LinearSpec(EmbedDim, PatchSize * PatchSize * InChans),
            Conv ? new ConvSpec(2, InChans, InChans, 3, Padding: 1) : null);
    }

    protected override IScoreModel Create(Generator generator) => new UViT(Plan(), generator);

    public LayerNode LayerPlan() => Plan().LayerTree();
}

public sealed record UViTPlan(UViTConfig Config, PatchEmbedPlan PatchEmbed, IReadOnlyList<ViTBlockPlan> InBlocks, ViTBlockPlan MidBlock,
    IReadOnlyList<ViTBlockPlan> OutBlocks, LayerNormSpec Norm, LinearSpec DecoderPred, ConvSpec? FinalConv)
{
    /// <summary>Extras + patches: the length of the token sequence every block sees.</summary>
    public long Tokens => Config.Extras + PatchEmbed.Tokens;

    public LinearSpec TimeMlp0 => new(Config.EmbedDim, 4 * Config.EmbedDim);

    public LinearSpec TimeMlp2 => new(4 * Config.EmbedDim, Config.EmbedDim);

    /// <summary>Modules named as libs/uvit.py; MACs count linears, convs and attention's two matmuls (2·T²·D per block).</summary>
    public LayerNode LayerTree()
    {
        var c = Config;
        int d = c.EmbedDim, g = PatchEmbed.Grid.Dims[0];
        long t = Tokens, l = PatchEmbed.Tokens;
        long[] image = c.InputShape;
        var rows = new List<LayerNode>
        {
            new("patch_embed", "PatchEmbed", [l, d], Children:
                [new("proj", "Conv2d", [d, g, g], PatchEmbed.Proj.ParameterCount, l * d * c.InChans * c.PatchSize * c.PatchSize)]),
            c.MlpTimeEmbed
                ? new("time_embed", "Sequential", [d], Children: [LayerNode.Linear("0", d, 4 * d), LayerNode.Op("1", "SiLU", [4 * d]), LayerNode.Linear("2", 4 * d, d)])
                : LayerNode.Op("time_embed", "Identity", [d]),
        };
        if (c.NumClasses > 0) rows.Add(new("label_emb", "Embedding", [d], (long)c.NumClasses * d));
        rows.Add(new("pos_embed", "PosEmbed", [t, d], t * d));
        rows.Add(new("in_blocks", "ModuleList", [t, d], Children: InBlocks.Select((b, i) => Block(i.ToString(), b)).ToList()));
        rows.Add(Block("mid_block", MidBlock));
        rows.Add(new("out_blocks", "ModuleList", [t, d], Children: OutBlocks.Select((b, i) => Block(i.ToString(), b)).ToList()));
        rows.Add(new("norm", "LayerNorm", [t, d], Norm.ParameterCount));
        rows.Add(LayerNode.Linear("decoder_pred", d, DecoderPred.Out, t));
        rows.Add(LayerNode.Op("unpatchify", "Unpatchify", image));
        rows.Add(FinalConv is { } f
            ? new("final_layer", "Conv2d", image, f.ParameterCount, (long)c.ImgSize * c.ImgSize * f.Out * f.In * f.Kernel * f.Kernel)
            : LayerNode.Op("final_layer", "Identity", image));
        return new LayerNode("", "UViT", image, Children: rows);
    }

    private static LayerNode Block(string name, ViTBlockPlan b)
    {
        int d = b.Config.Dim, h = b.Config.MlpHidden;
        long t = b.Config.Tokens;
        var rows = new List<LayerNode>
        {
            new("norm1", "LayerNorm", [t, d], b.Norm.ParameterCount),
            new("attn", "Attention", [t, d], OwnMacs: 2 * t * t * d,
                Children: [LayerNode.Linear("qkv", d, 3 * d, t, b.Config.QkvBias), LayerNode.Linear("proj", d, d, t)]),
            new("norm2", "LayerNorm", [t, d], b.Norm.ParameterCount),
            new("mlp", "Mlp", [t, d], Children: [LayerNode.Linear("fc1", d, h, t), LayerNode.Op("act", "GELU", [t, h]), LayerNode.Linear("fc2", h, d, t)]),
        };
        if (b.SkipLinear is not null) rows.Add(LayerNode.Linear("skip_linear", 2 * d, d, t));
        return new LayerNode(name, "Block", [t, d], Children: rows);
    }
}
