using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Architectures;

/// <summary>
/// DiT's state_dict: pos_embed (1, T, D) first (the module's own parameter; frozen), then x_embedder.proj,
/// t_embedder.mlp.0/2, y_embedder.embedding_table, blocks.i.*, final_layer.*.
/// </summary>
public sealed record DiTParams(Tensor PosEmbed, PatchEmbedParams XEmbedder, LinearParams TimeMlp0, LinearParams TimeMlp2, Tensor? LabelTable,
    IReadOnlyList<DiTBlockParams> Blocks, FinalLayerParams Final) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        One("pos_embed", PosEmbed).Concat(Sub("x_embedder", XEmbedder)).Concat(Sub("t_embedder.mlp.0", TimeMlp0)).Concat(Sub("t_embedder.mlp.2", TimeMlp2))
            .Concat(One("y_embedder.embedding_table.weight", LabelTable))
            .Concat(Blocks.SelectMany((b, i) => Sub($"blocks.{i}", b))).Concat(Sub("final_layer", Final));

    /// <summary>pos_embed stays frozen: models.py declares it <c>nn.Parameter(..., requires_grad=False)</c>.</summary>
    public override Params RequiresGrad(bool on = true)
    {
        foreach (var p in Named()) p.Tensor.requires_grad = on && p.Name != "pos_embed";
        return this;
    }
}

/// <summary>
/// The Diffusion Transformer (Peebles &amp; Xie 2023, facebookresearch/DiT models.py):
/// x → PatchEmbed + pos_embed (N, T, D); c = TimestepEmbedder(t) + LabelEmbedder(y) (N, D);
/// N × DiTBlock(x, c); FinalLayer(x, c) (N, T, p²·C_out); unpatchify (N, C_out, H, W).
/// Initialised as initialize_weights: Xavier-uniform linears with zero biases, the patch conv as a flat linear,
/// N(0, 0.02²) label table and timestep MLP, adaLN modulations and the final layer zero — so a fresh DiT outputs 0.
/// </summary>
public sealed class DiT : IScoreModel
{
    private readonly DiTPlan plan;
    private readonly DiTParams parameters;

    public DiT(DiTPlan plan, Generator g)
    {
        this.plan = plan;
        var c = plan.Config;
        var blocks = plan.Blocks.Select(b => DiTBlock.Init(b, g, TransformerInit.Xavier)).ToList();
        parameters = new DiTParams(
            TransformerInit.Constant(PosEmbed.SinCos2D(c.HiddenSize, plan.Grid.Dims[0]), [1, plan.Tokens, c.HiddenSize]),
            new PatchEmbedParams(TransformerInit.XavierFlat(plan.XEmbedder.Proj, g)),
            TransformerInit.NormalLinear(plan.TimeMlp0, 0.02, g), TransformerInit.NormalLinear(plan.TimeMlp2, 0.02, g),
            c.LabelRows > 0 ? TransformerInit.Normal([c.LabelRows, c.HiddenSize], 0.02, g) : null,
            blocks, FinalLayer.Init(plan.Final, g));
        parameters.RequiresGrad();
    }

    public ModelConfig Config => plan.Config;

    public DiTPlan Plan => plan;

    public Params Parameters => parameters;

    public PredictionTarget Target => plan.Config.Target;

    public IReadOnlyList<LayerInfo> Layers => plan.LayerTree().Flatten();

    /// <summary>
    /// x (N, C, H, W), t (N) → (N, C_out, H, W). Labels (N) int64 in [0, NumClasses]; NumClasses is the null class.
    /// Without labels a class-conditional DiT uses the null class (unconditional). Label dropout for classifier-free
    /// guidance is the trainer's (TrainingConfig.LabelDropout): the forward is a pure function of the labels given.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var c = plan.Config;
        if (conditioning?.Metadata is not null) throw new ArgumentException("dit: this model takes no metadata vector", nameof(conditioning));
        Guard.Input("dit", c.InputShape, x);
        var n = x.size(0);
        if (t.shape is not [var tn] || tn != n) throw new ShapeException("dit", $"t [{n}]", t.shape);
        using var scope = torch.NewDisposeScope();
        var h = PatchEmbed.Forward(plan.XEmbedder, parameters.XEmbedder, x) + parameters.PosEmbed; // (N, T, D)
        var freq = Sinusoidal.Embed(c.Frequency, t);                                                 // (N, 256)
        var cond = Linear.Forward(parameters.TimeMlp2, F.silu(Linear.Forward(parameters.TimeMlp0, freq))); // (N, D)
        if (parameters.LabelTable is { } table) cond = cond + F.embedding(Labels(conditioning?.Labels, n, dropout), table); // (N, D)
        else if (conditioning?.Labels is not null) throw new ArgumentException("dit: num_classes=0, so this model takes no class labels", nameof(conditioning));
        for (var i = 0; i < plan.Blocks.Count; i++) h = DiTBlock.Forward(plan.Blocks[i], parameters.Blocks[i], h, cond); // (N, T, D)
        h = FinalLayer.Forward(plan.Final, parameters.Final, h, cond);                                 // (N, T, p²·C_out)
        return PatchEmbed.Unpatchify(h, plan.Grid, c.PatchSize, c.OutChannels).MoveToOuterDisposeScope(); // (N, C_out, H, W)
    }

    private Tensor Labels(Tensor? labels, long n, Generator? dropout)
    {
        var c = plan.Config;
        var hasNull = c.LabelRows > c.NumClasses;
        if (labels is null)
            return hasNull ? torch.full([n], c.NumClasses, ScalarType.Int64)
                : throw new ArgumentException($"dit: labels [N] are required (num_classes={c.NumClasses}, no null class since class_dropout_prob=0)");
        if (labels.shape is not [var ln] || ln != n) throw new ShapeException("dit", $"labels [{n}]", labels.shape);
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"dit: labels must be int64, got {labels.dtype}");
        if (n > 0 && (labels.min().item<long>() < 0 || labels.max().item<long>() >= c.LabelRows))
            throw new ArgumentOutOfRangeException(nameof(labels), $"dit: labels must lie in [0, {c.LabelRows - 1}]{(hasNull ? $" ({c.NumClasses} is the null class)" : "")}");
        return labels;
    }

    public void Dispose() => parameters.Dispose();
}
