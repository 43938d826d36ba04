using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Architectures;

/// <summary>nn.Embedding's table, (rows, dim), drawn from N(0, 1) as PyTorch does.</summary>
public sealed record EmbeddingParams(Tensor Weight) : Params
{
    public override IEnumerable<NamedTensor> Named() => One("weight", Weight);
}

/// <summary>State-dict names follow diffusers' UNet2DModel (its order too); metadata_embedding is this library's addition.</summary>
public sealed record UNetParams(
    ConvParams ConvIn, FourierParams? TimeProj, TimeMlpParams TimeEmbedding, EmbeddingParams? ClassEmbedding, TimeMlpParams? MetadataEmbedding,
    Seq<EncoderStageParams> Down, ResBlockParams MidRes0, AttentionParams? MidAttention, ResBlockParams MidRes1, Seq<DecoderStageParams> Up,
    NormParams NormOut, ConvParams ConvOut) : Params
{
    public override IEnumerable<NamedTensor> Named() =>
        Sub("conv_in", ConvIn).Concat(Sub("time_proj", TimeProj)).Concat(Sub("time_embedding", TimeEmbedding))
            .Concat(Sub("class_embedding", ClassEmbedding)).Concat(Sub("metadata_embedding", MetadataEmbedding))
            .Concat(Down.SelectMany((d, i) => Sub($"down_blocks.{i}", d)))
            .Concat(Sub("mid_block.resnets.0", MidRes0)).Concat(Sub("mid_block.attentions.0", MidAttention)).Concat(Sub("mid_block.resnets.1", MidRes1))
            .Concat(Up.SelectMany((u, i) => Sub($"up_blocks.{i}", u)))
            .Concat(Sub("conv_norm_out", NormOut)).Concat(Sub("conv_out", ConvOut));

    public override Params RequiresGrad(bool on = true)
    {
        base.RequiresGrad(on);
        if (TimeProj is not null) TimeProj.W.requires_grad = false; // the Fourier frequencies stay fixed (score_sde's requires_grad=False)
        return this;
    }
}

/// <summary>
/// The U-Net score network described by <see cref="UNetConfig"/>:
/// emb = time_embedding(time_proj(t)) [+ class_embedding(y)] [+ metadata_embedding(m)];
/// h = conv_in(x); encoder levels push skips; mid = ResBlock → attention → ResBlock; decoder levels pop them;
/// out = conv_out(SiLU(conv_norm_out(h))).
/// </summary>
public sealed class UNet : IScoreModel
{
    private const string Root = "unet";
    private readonly UNetParams w;

    public UNet(UNetPlan plan, Generator g)
    {
        Plan = plan;
        w = new UNetParams(
            Conv.Init(plan.ConvIn, g),
            plan.Fourier is { } f ? FourierFeatures.Init(f, g) : null,
            TimeMlp.Init(plan.TimeEmbedding, g),
            plan.ClassRows > 0 ? new EmbeddingParams(NormalTable(plan.ClassRows, plan.TembDim, g)) : null,
            plan.MetadataEmbedding is { } m ? TimeMlp.Init(m, g) : null,
            plan.Down.Map(d => EncoderStage.Init(d, g)).Strict(),
            ResBlock.Init(plan.MidRes0, g),
            plan.MidAttention is { } a ? SpatialAttention.Init(a, g) : null,
            ResBlock.Init(plan.MidRes1, g),
            plan.Up.Map(u => DecoderStage.Init(u, g)).Strict(),
            GroupNorm.Init(plan.NormOut),
            Conv.Init(plan.ConvOut, g));
        w.RequiresGrad();
    }

    public UNetPlan Plan { get; }

    public ModelConfig Config => Plan.Config;

    public Params Parameters => w;

    public PredictionTarget Target => Plan.Config.Target;

    public IReadOnlyList<LayerInfo> Layers => UNetLayers.Rows(Plan);

    /// <summary>
    /// x (N, C_in, *size), t (N) → (N, C_out, *size). Labels (N) int64 in [0, NumClasses]; omitted labels mean the null class.
    /// Metadata (N, M) is required when MetadataDim &gt; 0.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var c = Plan.Config;
        Guard.Input(Root, Plan.InputShape, x);
        var n = x.size(0);
        if (t.shape is not [var tn] || tn != n) throw new ShapeException(Rules.Child(Root, "time_proj"), $"timesteps [{n}]", t.shape);
        if (c.NumClasses == 0 && conditioning?.Labels is not null) throw new ArgumentException($"{Root}: this model takes no class labels (num_classes=0)", nameof(conditioning));
        if (c.MetadataDim == 0 && conditioning?.Metadata is not null) throw new ArgumentException($"{Root}: this model takes no metadata (metadata_dim=0)", nameof(conditioning));
        using var scope = torch.NewDisposeScope();

        var features = Plan.Sinusoidal is { } s ? Sinusoidal.Embed(s, t) : FourierFeatures.Embed(w.TimeProj!, t); // (N, C) or (N, 2C)
        var emb = TimeMlp.Forward(Plan.TimeEmbedding, w.TimeEmbedding, features);                                   // (N, T)
        if (w.ClassEmbedding is not null) emb = emb + F.embedding(Labels(conditioning?.Labels, n), w.ClassEmbedding.Weight); // (N, T)
        if (Plan.MetadataEmbedding is { } m)
        {
            Guard.Vector(Rules.Child(Root, "metadata_embedding"), m.In, n, conditioning?.Metadata, "metadata");
            emb = emb + TimeMlp.Forward(m, w.MetadataEmbedding!, conditioning!.Metadata!.@float()); // (N, T)
        }

        var h = Conv.Forward(Plan.ConvIn, w.ConvIn, x); // (N, C, *size)
        var skips = new List<Tensor>();
        if (c.Skip == SkipMode.Concat) skips.Add(h);
        for (var i = 0; i < Plan.Down.Count; i++)
        {
            (h, var produced) = EncoderStage.Forward(Plan.Down[i], w.Down[i], h, emb, dropout); // (N, C_i, *size_i / 2)
            skips.AddRange(c.Skip == SkipMode.Concat ? produced : produced.Take(c.NumResBlocks)); // add-mode skips: the ResBlock outputs
        }

        h = ResBlock.Forward(Plan.MidRes0, w.MidRes0, h, emb, dropout); // (N, C_last, *size_last)
        if (Plan.MidAttention is not null) h = SpatialAttention.Forward(Plan.MidAttention, w.MidAttention!, h);
        h = ResBlock.Forward(Plan.MidRes1, w.MidRes1, h, emb, dropout);

        for (var i = 0; i < Plan.Up.Count; i++)
        {
            var count = Plan.Up[i].Resnets.Count;
            var consumed = Enumerable.Range(1, count).Select(k => skips[^k]).ToList(); // popped from the end
            skips.RemoveRange(skips.Count - count, count);
            h = DecoderStage.Forward(Plan.Up[i], w.Up[i], h, consumed, emb, dropout); // (N, C_i | C_{i−1}, *2·size_i)
        }

        h = F.silu(GroupNorm.Forward(Plan.NormOut, w.NormOut, h)); // (N, C_0, *size)
        return Conv.Forward(Plan.ConvOut, w.ConvOut, h).MoveToOuterDisposeScope(); // (N, C_out, *size)
    }

    /// <summary>Labels checked against [0, NumClasses]; none given → the null class for every sample (unconditional).</summary>
    private Tensor Labels(Tensor? labels, long n)
    {
        var nullClass = Plan.Config.NumClasses;
        if (labels is null) return torch.full([n], nullClass, torch.int64);
        var path = Rules.Child(Root, "class_embedding");
        if (labels.shape is not [var ln] || ln != n) throw new ShapeException(path, $"labels [{n}]", labels.shape);
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"{path}: labels must be int64, got {labels.dtype}", nameof(labels));
        if (n > 0)
        {
            long lo = labels.min().item<long>(), hi = labels.max().item<long>();
            if (lo < 0 || hi > nullClass)
                throw new ArgumentOutOfRangeException(nameof(labels), $"{path}: labels must lie in [0, {nullClass}] ({nullClass} is the null class), got [{lo}, {hi}]");
        }
        return labels;
    }

    private static Tensor NormalTable(int rows, int dim, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        return torch.randn([rows, dim], g).DetachFromDisposeScope();
    }

    public void Dispose() => w.Dispose();
}
