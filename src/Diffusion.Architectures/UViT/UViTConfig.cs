using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

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
    PredictionTarget Target = PredictionTarget.Noise) : ModelConfig, IClassConditional
{
    /// <summary>
    /// Every row of label_emb is a label the trainer may pass: libs/uvit.py has no reserved null row of its own (its ImageNet
    /// configs count the null class in num_classes), so the trainer's label dropout, which uses row NumClasses, needs 0.
    /// </summary>
    public bool HasNullClass => false;

    public override long[] InputShape => [InChans, ImgSize, ImgSize];

    /// <summary>Tokens in front of the patches: the time token, and the label token when class-conditional.</summary>
    public int Extras => NumClasses > 0 ? 2 : 1;

    public Checked<UViTPlan> Plan()
    {
        var limits = TransformerLimits.Check("uvit", new(ImgSize, "img_size"), new(PatchSize, "patch_size"), new(InChans, "in_chans"),
            new(EmbedDim, "embed_dim"), new(Depth, "depth"), new(NumHeads, "num_heads"), new(NumClasses, "num_classes"), MlpRatio);
        if (limits.Any()) return Checked.Fail<UViTPlan>(limits); // checked before any size is used
        var grid = PatchSize > 0 ? ImgSize / PatchSize : 0;
        var tokens = Math.Max(1, Extras + (long)grid * grid);
        ViTBlockConfig Block(bool skip) => new(EmbedDim, NumHeads, tokens, MlpRatio, QkvBias, skip);
        IEnumerable<string> own =
        [
            .. Rules.Require(Depth >= 0 && Depth % 2 == 0, "uvit", $"depth={Depth} must be even and ≥ 0 (depth/2 in-blocks, a mid-block, depth/2 out-blocks)"),
            .. Rules.Require(EmbedDim <= 0 || EmbedDim % 2 == 0, "uvit.time_embed", $"embed_dim={EmbedDim} must be even (sinusoidal time token)"),
            .. Rules.Require(NumClasses >= 0, "uvit.label_emb", $"num_classes={NumClasses} must be ≥ 0 (0: unconditional)"),
        ];
        var blocks = (IEnumerable<(string Path, bool Skip)>)[.. Enumerable.Range(0, Math.Max(0, Depth / 2)).Select(i => ($"uvit.in_blocks.{i}", false)), ("uvit.mid_block", false),
            .. Enumerable.Range(0, Math.Max(0, Depth / 2)).Select(i => ($"uvit.out_blocks.{i}", Skip))];
        // The blocks share every rule, so only the first of them reports (heads dividing the width …) rather than all 2·depth/2 + 1.
        return Checked.Of([.. own, .. ViTBlock.Plan(Block(false), "uvit.blocks").Problems],
            PatchEmbed.Plan(new PatchEmbedConfig(InChans, EmbedDim, new Spatial(ImgSize, ImgSize), PatchSize), "uvit.patch_embed"),
            patch =>
            {
                var all = blocks.Select(b => ViTBlock.Plan(Block(b.Skip), b.Path).OrThrow()).ToList();
                long[] image = [InChans, ImgSize, ImgSize];
                var time = new SinusoidalSpec(EmbedDim, FlipSinToCos: true, DownscaleFreqShift: 0);
                return new UViTPlan(this, patch, time,
                    MlpTimeEmbed ? new TimeMlpSpec(EmbedDim, 4 * EmbedDim, EmbedDim, Init: ViTBlock.UViTInit).Declare("time_embed", "Sequential", TimeMlpSpec.Sequential) : null,
                    NumClasses > 0 ? new EmbeddingSpec(NumClasses, EmbedDim).Declare("label_emb") : null, // nn.Embedding keeps its default N(0, 1)
                    all.Take(Depth / 2).ToList(), all[Depth / 2], all.Skip(Depth / 2 + 1).ToList(),
                    new LayerNormSpec(EmbedDim).Declare("norm", [tokens, EmbedDim]),
                    new LinearSpec(EmbedDim, PatchSize * PatchSize * InChans).Declare("decoder_pred", tokens, ViTBlock.UViTInit),
                    Conv ? new ConvSpec(2, InChans, InChans, 3, Padding: 1).Declare("final_layer", image) : null);
            });
    }

    public override Checked<IModelPlan> PlanModel() => Plan().Map(p => (IModelPlan)p);
}

/// <summary>
/// A valid U-ViT; children named as libs/uvit.py's state_dict: pos_embed (1, extras + L, D), patch_embed, time_embed,
/// label_emb, in_blocks.i, mid_block, out_blocks.i, norm, decoder_pred, final_layer. MACs count linears, convs and
/// attention's two matmuls (2·T²·D per block).
/// </summary>
public sealed record UViTPlan(UViTConfig Config, PatchEmbedPlan PatchEmbed, SinusoidalSpec Time, TimeMlp? TimeEmbed, Leaf<EmbeddingSpec>? LabelEmb,
    IReadOnlyList<ViTBlockPlan> InBlocks, ViTBlockPlan MidBlock, IReadOnlyList<ViTBlockPlan> OutBlocks, Leaf<LayerNormSpec> Norm,
    Leaf<LinearSpec> DecoderPred, Leaf<ConvSpec>? FinalConv) : IModelPlan
{
    ModelConfig IModelPlan.Config => Config;

    /// <summary>Extras + patches: the length of the token sequence every block sees.</summary>
    public long Tokens => Config.Extras + PatchEmbed.Tokens;

    /// <summary>A learned table, trunc_normal_(std=.02) as _init_weights.</summary>
    public Module PosEmbed => field ??= Module.Tensor("pos_embed", "PosEmbed", [Tokens, Config.EmbedDim], [1, Tokens, Config.EmbedDim], new Fill.Normal(0.02));

    public Module Module => field ??= Module.Group("", "UViT", Config.InputShape,
    [
        PosEmbed, PatchEmbed.Module, TimeEmbed?.Module ?? Module.Op("time_embed", "Identity", [Config.EmbedDim]), LabelEmb?.Module,
        .. InBlocks.Select(b => b.Module), MidBlock.Module, .. OutBlocks.Select(b => b.Module), Norm.Module, DecoderPred.Module,
        Module.Op("unpatchify", "Unpatchify", Config.InputShape), FinalConv?.Module ?? Module.Op("final_layer", "Identity", Config.InputShape),
    ]);

    public IScoreModel Build(Generator generator) => new UViT(this, generator);
}
