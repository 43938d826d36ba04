using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// DiT, the Diffusion Transformer (Peebles &amp; Xie 2023), with the constructor arguments of facebookresearch/DiT
/// models.py: a square InputSize² image of InChannels is cut into p×p patches (T = (InputSize/p)² tokens of width
/// HiddenSize), Depth adaLN-Zero blocks are conditioned on c = t_emb + y_emb, and the final layer and unpatchify
/// return OutChannels = 2·InChannels (ε and the variance interpolation v) with LearnSigma, else InChannels.
/// NumClasses = 0 drops the label embedder; ClassDropoutProb &gt; 0 adds the null class (row NumClasses) for
/// classifier-free guidance; the trainer drops labels to it (training option label_dropout). Defaults are DiT-XL/2 on 32×32×4 latents.
/// </summary>
public sealed record DiTConfig(int InputSize = 32, int PatchSize = 2, int InChannels = 4, int HiddenSize = 1152, int Depth = 28,
    int NumHeads = 16, double MlpRatio = 4.0, double ClassDropoutProb = 0.1, int NumClasses = 1000, bool LearnSigma = true,
    int FrequencyEmbeddingSize = 256, PredictionTarget Target = PredictionTarget.Noise) : ModelConfig, IClassConditional
{
    public override long[] InputShape => [InChannels, InputSize, InputSize];

    public int OutChannels => LearnSigma ? 2 * InChannels : InChannels;

    /// <summary>(OutChannels, InputSize, InputSize): with LearnSigma the first InChannels channels are the prediction.</summary>
    public long[] OutputShape => [OutChannels, InputSize, InputSize];

    /// <summary>Rows of y_embedder.embedding_table: NumClasses, plus the null class when labels are dropped in training.</summary>
    public int LabelRows => NumClasses == 0 ? 0 : NumClasses + (HasNullClass ? 1 : 0);

    /// <summary>models.py reserves the null row only when labels are dropped in training (class_dropout_prob &gt; 0).</summary>
    public bool HasNullClass => ClassDropoutProb > 0;

    /// <summary>The validated plan: every block resolved, nothing left to check at run time but input shapes.</summary>
    public Checked<DiTPlan> Plan()
    {
        IEnumerable<string> limits =
        [
            .. TransformerLimits.Check("dit", new(InputSize, "input_size"), new(PatchSize, "patch_size"), new(InChannels, "in_channels"),
                new(HiddenSize, "hidden_size"), new(Depth, "depth"), new(NumHeads, "num_heads"), new(NumClasses, "num_classes"), MlpRatio),
            .. Limits.Width.Check(FrequencyEmbeddingSize, "dit", "frequency_embedding_size"),
        ];
        if (limits.Any()) return Checked.Fail<DiTPlan>(limits); // checked before any size is used
        var grid = PatchSize > 0 ? InputSize / PatchSize : 0;
        var tokens = Math.Max(1L, (long)grid * grid);
        var frequency = new SinusoidalSpec(FrequencyEmbeddingSize, FlipSinToCos: true, DownscaleFreqShift: 0); // GLIDE's timestep_embedding: [cos, sin]
        IEnumerable<string> own =
        [
            .. Rules.Positive(Depth, "dit", "depth"),
            .. Rules.Require(HiddenSize <= 0 || HiddenSize % 4 == 0, "dit.pos_embed", $"hidden_size={HiddenSize} must be divisible by 4 (2-D sine-cosine embedding)"),
            .. frequency.Check("dit.t_embedder"),
            .. Rules.Require(NumClasses >= 0, "dit.y_embedder", $"num_classes={NumClasses} must be ≥ 0 (0: unconditional)"),
            .. Rules.Require(ClassDropoutProb is >= 0 and < 1, "dit.y_embedder", $"class_dropout_prob={ClassDropoutProb} must be in [0, 1)"),
        ];
        // One block is checked for the shared rules (heads divide the width …); the Depth copies differ only in path.
        var block = new DiTBlockConfig(HiddenSize, NumHeads, tokens, MlpRatio);
        return Checked.Of([.. own, .. DiTBlock.Plan(block, "dit.blocks").Problems],
            PatchEmbed.Plan(new PatchEmbedConfig(InChannels, HiddenSize, new Spatial(InputSize, InputSize), PatchSize, new InitScheme.XavierFlat()), "dit.x_embedder"),
            FinalLayer.Plan(new FinalLayerConfig(HiddenSize, PatchSize, OutChannels, 2, tokens), "dit.final_layer"),
            (x, f) => new DiTPlan(this, x, new TimeMlpSpec(FrequencyEmbeddingSize, HiddenSize, HiddenSize, Init: new InitScheme.Normal(0.02))
                    .Declare("t_embedder", "TimestepEmbedder", ("mlp.0", "mlp.1", "mlp.2"), frequency.Declare("timestep_embedding")),
                frequency, LabelRows > 0 ? new EmbeddingSpec(LabelRows, HiddenSize, 0.02).Declare("embedding_table") : null,
                Enumerable.Range(0, Depth).Select(i => DiTBlock.Plan(block, $"dit.blocks.{i}").OrThrow()).ToList(), f));
    }

    public override Checked<IModelPlan> PlanModel() => Plan().Map(p => (IModelPlan)p);
}

/// <summary>
/// A valid DiT. Children named as models.py's state_dict: pos_embed (frozen), x_embedder, t_embedder, y_embedder,
/// blocks.i, final_layer. MACs count the linears, the patch conv and attention's two matmuls (QKᵀ and AV: 2·T²·D per
/// block) — what DiT's Gflops column counts (118.6 for XL/2).
/// </summary>
public sealed record DiTPlan(DiTConfig Config, PatchEmbedPlan XEmbedder, TimeMlp TEmbedder, SinusoidalSpec Frequency, Leaf<EmbeddingSpec>? LabelTable,
    IReadOnlyList<DiTBlockPlan> Blocks, FinalLayerPlan Final) : IModelPlan
{
    ModelConfig IModelPlan.Config => Config;

    public long Tokens => XEmbedder.Tokens;

    public Spatial Grid => XEmbedder.Grid;

    /// <summary>models.py's <c>nn.Parameter(..., requires_grad=False)</c>, filled with the 2-D sine-cosine table.</summary>
    public Module PosEmbed => field ??= Module.Tensor("pos_embed", "SinCosPosEmbed", [Tokens, Config.HiddenSize], [1, Tokens, Config.HiddenSize],
        new Fill.Table(() => Architectures.PosEmbed.SinCos2D(Config.HiddenSize, Grid.Dims[0])), ParamKind.Frozen);

    /// <summary>The LabelEmbedder holding the table, when class-conditional.</summary>
    public Module? YEmbedder => LabelTable is null ? null : field ??= Module.Group("y_embedder", "LabelEmbedder", [Config.HiddenSize], [LabelTable.Module]);

    public Module Module => field ??= Module.Group("", "DiT", Config.OutputShape,
    [
        PosEmbed, XEmbedder.Module, TEmbedder.Module, YEmbedder,
        .. Blocks.Select(b => b.Module), Final.Module, Module.Op("unpatchify", "Unpatchify", Config.OutputShape),
    ]);

    public IScoreModel Build(Generator generator) => new DiT(this, generator);
}
