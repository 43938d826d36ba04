using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Architectures;

/// <summary>U-ViT's state_dict: pos_embed (1, extras + L, D) first, then patch_embed.proj, time_embed.0/2, label_emb, in_blocks.i, mid_block, out_blocks.i, norm, decoder_pred, final_layer.</summary>
public sealed record UViTParams(Tensor PosEmbed, PatchEmbedParams PatchEmbed, LinearParams? TimeMlp0, LinearParams? TimeMlp2, Tensor? LabelTable,
    IReadOnlyList<ViTBlockParams> InBlocks, ViTBlockParams MidBlock, IReadOnlyList<ViTBlockParams> OutBlocks, NormParams Norm,
    LinearParams DecoderPred, ConvParams? FinalConv) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        One("pos_embed", PosEmbed).Concat(Sub("patch_embed", PatchEmbed)).Concat(Sub("time_embed.0", TimeMlp0)).Concat(Sub("time_embed.2", TimeMlp2))
            .Concat(One("label_emb.weight", LabelTable)).Concat(InBlocks.SelectMany((b, i) => Sub($"in_blocks.{i}", b)))
            .Concat(Sub("mid_block", MidBlock)).Concat(OutBlocks.SelectMany((b, i) => Sub($"out_blocks.{i}", b)))
            .Concat(Sub("norm", Norm)).Concat(Sub("decoder_pred", DecoderPred)).Concat(Sub("final_layer", FinalConv));
}

/// <summary>
/// U-ViT (Bao et al. 2023; baofff/U-ViT libs/uvit.py): tokens = [label,] time, patches (+ a learned pos_embed);
/// skips hold each in-block's output and out-block i fuses the one pushed last (long skips, shallow ↔ deep).
/// Initialised as _init_weights: N(0, 0.02²) linears and pos_embed, zero biases, LayerNorm γ = 1, β = 0;
/// the convs (patch embedding, final 3×3) keep PyTorch's default and the label table nn.Embedding's N(0, 1).
/// </summary>
public sealed class UViT : IScoreModel
{
    private readonly UViTPlan plan;
    private readonly UViTParams parameters;

    public UViT(UViTPlan plan, Generator g)
    {
        this.plan = plan;
        var c = plan.Config;
        LinearParams Lin(LinearSpec s) => TransformerInit.NormalLinear(s, 0.02, g);
        parameters = new UViTParams(
            TransformerInit.Normal([1, plan.Tokens, c.EmbedDim], 0.02, g),
            Blocks.PatchEmbed.Init(plan.PatchEmbed, g),
            c.MlpTimeEmbed ? Lin(plan.TimeMlp0) : null, c.MlpTimeEmbed ? Lin(plan.TimeMlp2) : null,
            c.NumClasses > 0 ? TransformerInit.Normal([c.NumClasses, c.EmbedDim], 1.0, g) : null, // nn.Embedding keeps its default N(0, 1)
            plan.InBlocks.Select(b => ViTBlock.Init(b, Lin)).ToList(), ViTBlock.Init(plan.MidBlock, Lin),
            plan.OutBlocks.Select(b => ViTBlock.Init(b, Lin)).ToList(), LayerNorm.Init(plan.Norm), Lin(plan.DecoderPred),
            plan.FinalConv is { } f ? Primitives.Conv.Init(f, g) : null);
        parameters.RequiresGrad();
    }

    public ModelConfig Config => plan.Config;

    public UViTPlan Plan => plan;

    public Params Parameters => parameters;

    public PredictionTarget Target => plan.Config.Target;

    public IReadOnlyList<LayerInfo> Layers => plan.LayerTree().Flatten();

    /// <summary>x (N, C, H, W), t (N) → (N, C, H, W); labels (N) int64 in [0, NumClasses) are required when NumClasses &gt; 0.</summary>
    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var c = plan.Config;
        if (conditioning?.Metadata is not null) throw new ArgumentException("uvit: this model takes no metadata vector", nameof(conditioning));
        Guard.Input("uvit", c.InputShape, x);
        var n = x.size(0);
        if (t.shape is not [var tn] || tn != n) throw new ShapeException("uvit", $"t [{n}]", t.shape);
        var labels = conditioning?.Labels;
        if (c.NumClasses > 0 && labels is null) throw new ArgumentException($"uvit: labels [N] are required (num_classes={c.NumClasses})", nameof(conditioning));
        if (c.NumClasses == 0 && labels is not null) throw new ArgumentException("uvit: num_classes=0, so this model takes no class labels", nameof(conditioning));
        using var scope = torch.NewDisposeScope();
        var h = Blocks.PatchEmbed.Forward(plan.PatchEmbed, parameters.PatchEmbed, x);                  // (N, L, D)
        var time = Sinusoidal.Embed(new SinusoidalSpec(c.EmbedDim, FlipSinToCos: true, DownscaleFreqShift: 0), t); // (N, D)
        if (parameters.TimeMlp0 is { } t0 && parameters.TimeMlp2 is { } t2) time = Linear.Forward(t2, F.silu(Linear.Forward(t0, time)));
        List<Tensor> tokens = [time.unsqueeze(1), h];                                                    // (N, 1, D), (N, L, D)
        if (parameters.LabelTable is { } table)
        {
            if (labels!.shape is not [var ln] || ln != n) throw new ShapeException("uvit", $"labels [{n}]", labels.shape);
            tokens.Insert(0, F.embedding(labels, table).unsqueeze(1));                                  // (N, 1, D)
        }
        h = torch.cat([.. tokens], 1) + parameters.PosEmbed;                                            // (N, T, D)
        var skips = new Stack<Tensor>();
        for (var i = 0; i < plan.InBlocks.Count; i++) skips.Push(h = ViTBlock.Forward(plan.InBlocks[i], parameters.InBlocks[i], h));
        h = ViTBlock.Forward(plan.MidBlock, parameters.MidBlock, h);
        for (var i = 0; i < plan.OutBlocks.Count; i++)
        {
            var skip = skips.Pop();
            h = ViTBlock.Forward(plan.OutBlocks[i], parameters.OutBlocks[i], h, plan.OutBlocks[i].SkipLinear is null ? null : skip);
        }
        h = Linear.Forward(parameters.DecoderPred, LayerNorm.Forward(plan.Norm, parameters.Norm, h));  // (N, T, p²·C)
        h = h.narrow(1, c.Extras, plan.PatchEmbed.Tokens);                                               // (N, L, p²·C)
        var img = Blocks.PatchEmbed.Unpatchify(h, plan.PatchEmbed.Grid, c.PatchSize, c.InChans);       // (N, C, H, W)
        if (plan.FinalConv is { } f) img = Primitives.Conv.Forward(f, parameters.FinalConv!, img);     // (N, C, H, W)
        return img.MoveToOuterDisposeScope();
    }

    public void Dispose() => parameters.Dispose();
}
