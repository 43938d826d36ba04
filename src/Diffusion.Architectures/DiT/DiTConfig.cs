using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;

namespace Diffusion.Architectures;

/// <summary>
/// DiT, the Diffusion Transformer (Peebles &amp; Xie 2023), with the constructor arguments of facebookresearch/DiT
/// models.py: a square InputSize² image of InChannels is cut into p×p patches (T = (InputSize/p)² tokens of width
/// HiddenSize), Depth adaLN-Zero blocks are conditioned on c = t_emb + y_emb, and the final layer and unpatchify
/// return OutChannels = 2·InChannels (ε and the variance interpolation v) with LearnSigma, else InChannels.
/// NumClasses = 0 drops the label embedder; ClassDropoutProb &gt; 0 adds the null class (row NumClasses) for
/// classifier-free guidance. Defaults are DiT-XL/2 on 32×32×4 latents.
/// </summary>
public sealed record DiTConfig(int InputSize = 32, int PatchSize = 2, int InChannels = 4, int HiddenSize = 1152, int Depth = 28,
    int NumHeads = 16, double MlpRatio = 4.0, double ClassDropoutProb = 0.1, int NumClasses = 1000, bool LearnSigma = true,
    int FrequencyEmbeddingSize = 256, PredictionTarget Target = PredictionTarget.Noise) : ModelConfig, IHasLayerPlan, IClassConditional
{
    public override long[] InputShape => [InChannels, InputSize, InputSize];

    public int OutChannels => LearnSigma ? 2 * InChannels : InChannels;

    /// <summary>(OutChannels, InputSize, InputSize): with LearnSigma the first InChannels channels are the prediction.</summary>
    public long[] OutputShape => [OutChannels, InputSize, InputSize];

    /// <summary>Rows of y_embedder.embedding_table: NumClasses, plus the null class when labels are dropped in training.</summary>
    public int LabelRows => NumClasses == 0 ? 0 : NumClasses + (ClassDropoutProb > 0 ? 1 : 0);

    /// <summary>GLIDE's timestep_embedding: [cos, sin] with ω_i = 10000^(−i/half).</summary>
    public SinusoidalSpec Frequency => new(FrequencyEmbeddingSize, FlipSinToCos: true, DownscaleFreqShift: 0);

    private int Grid => PatchSize > 0 ? InputSize / PatchSize : 0;

    private long Tokens => Math.Max(1L, (long)Grid * Grid);

    private PatchEmbedConfig XEmbedder => new(InChannels, HiddenSize, new Spatial(InputSize, InputSize), PatchSize);

    private DiTBlockConfig Block => new(HiddenSize, NumHeads, Tokens, MlpRatio);

    private FinalLayerConfig Final => new(HiddenSize, PatchSize, OutChannels, 2, Tokens);

    public override Seq<string> Check() =>
        (PatchEmbed.Plan(XEmbedder, "dit.x_embedder").Problems()
            + Rules.Positive(Depth, "dit", "depth")
            + DiTBlock.Plan(Block, "dit.blocks").Problems()
            + Rules.Require(HiddenSize <= 0 || HiddenSize % 4 == 0, "dit.pos_embed", $"hidden_size={HiddenSize} must be divisible by 4 (2-D sine-cosine embedding)")
            + Frequency.Check("dit.t_embedder")
            + Rules.Require(NumClasses >= 0, "dit.y_embedder", $"num_classes={NumClasses} must be ≥ 0 (0: unconditional)")
            + Rules.Require(ClassDropoutProb is >= 0 and < 1, "dit.y_embedder", $"class_dropout_prob={ClassDropoutProb} must be in [0, 1)")
            + FinalLayer.Plan(Final, "dit.final_layer").Problems()).Distinct();

    /// <summary>The validated plan: every block resolved, nothing left to check at run time but input shapes.</summary>
    public DiTPlan Plan()
    {
        var problems = Check();
        if (!problems.IsEmpty) throw new ConfigException(problems);
        return new DiTPlan(this, PatchEmbed.Plan(XEmbedder, "dit.x_embedder").OrThrow(),
            new LinearSpec(FrequencyEmbeddingSize, HiddenSize), new LinearSpec(HiddenSize, HiddenSize),
            Enumerable.Range(0, Depth).Select(i => DiTBlock.Plan(Block, $"dit.blocks.{i}").OrThrow()).ToList(),
            FinalLayer.Plan(Final, "dit.final_layer").OrThrow());
    }

    protected override IScoreModel Create(Generator generator) => new DiT(Plan(), generator);

    public LayerNode LayerPlan() => Plan().LayerTree();
}

/// <summary>A valid DiT: the resolved block plans, and its layer tree computed from them.</summary>
public sealed record DiTPlan(DiTConfig Config, PatchEmbedPlan XEmbedder, LinearSpec TimeMlp0, LinearSpec TimeMlp2,
    IReadOnlyList<DiTBlockPlan> Blocks, FinalLayerPlan Final)
{
    public long Tokens => XEmbedder.Tokens;

    public Spatial Grid => XEmbedder.Grid;

    /// <summary>
    /// Modules named as models.py's state_dict. MACs count the linears, the patch conv and attention's two matmuls
    /// (QKᵀ and AV: 2·T²·D per block) — what DiT's Gflops column counts (118.6 for XL/2).
    /// </summary>
    public LayerNode LayerTree()
    {
        var c = Config;
        int d = c.HiddenSize, f = c.FrequencyEmbeddingSize;
        long t = Tokens;
        var proj = XEmbedder.Proj;
        var x = new LayerNode("x_embedder", "PatchEmbed", [t, d], Children:
        [
            new("proj", "Conv2d", [d, Grid.Dims[0], Grid.Dims[1]], proj.ParameterCount, t * d * c.InChannels * c.PatchSize * c.PatchSize),
        ]);
        var time = new LayerNode("t_embedder", "TimestepEmbedder", [d], Children:
        [
            LayerNode.Op("timestep_embedding", "Sinusoidal", [f]),
            new("mlp", "Sequential", [d], Children: [LayerNode.Linear("0", f, d), LayerNode.Op("1", "SiLU", [d]), LayerNode.Linear("2", d, d)]),
        ]);
        var rows = new List<LayerNode> { x, time };
        if (c.LabelRows > 0)
            rows.Add(new("y_embedder", "LabelEmbedder", [d], Children: [new("embedding_table", "Embedding", [d], (long)c.LabelRows * d)]));
        rows.Add(new("pos_embed", "SinCosPosEmbed", [t, d], t * d, Trainable: false));
        rows.Add(new("blocks", "ModuleList", [t, d], Children: Blocks.Select((b, i) => Block(i.ToString(), b)).ToList()));
        var fl = Final.Config;
        rows.Add(new("final_layer", "FinalLayer", [t, fl.PatchOut], Children:
        [
            LayerNode.Op("norm_final", "LayerNorm", [t, d]),
            LayerNode.Linear("linear", d, fl.PatchOut, t),
            AdaLN(d, 2 * d),
        ]));
        rows.Add(LayerNode.Op("unpatchify", "Unpatchify", c.OutputShape));
        return new LayerNode("", "DiT", c.OutputShape, Children: rows);
    }

    private static LayerNode Block(string name, DiTBlockPlan b)
    {
        int d = b.Config.Dim, h = b.Config.MlpHidden;
        long t = b.Config.Tokens;
        return new(name, "DiTBlock", [t, d], Children:
        [
            LayerNode.Op("norm1", "LayerNorm", [t, d]),
            new("attn", "Attention", [t, d], OwnMacs: 2 * t * t * d, Children: [LayerNode.Linear("qkv", d, 3 * d, t), LayerNode.Linear("proj", d, d, t)]),
            LayerNode.Op("norm2", "LayerNorm", [t, d]),
            new("mlp", "Mlp", [t, d], Children: [LayerNode.Linear("fc1", d, h, t), LayerNode.Op("act", "GELU(tanh)", [t, h]), LayerNode.Linear("fc2", h, d, t)]),
            AdaLN(b.Config.Cond, 6 * d),
        ]);
    }

    private static LayerNode AdaLN(int cond, int @out) =>
        new("adaLN_modulation", "Sequential", [@out], Children: [LayerNode.Op("0", "SiLU", [cond]), LayerNode.Linear("1", cond, @out)]);
}
