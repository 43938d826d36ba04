using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>Normalisation inside every ResBlock, attention block and before conv_out.</summary>
public enum NormKind
{
    /// <summary>GroupNorm with <see cref="UNetConfig.NormGroups"/> groups (Wu &amp; He 2018): DDPM's choice.</summary>
    Group,

    /// <summary>One group per channel (InstanceNorm with affine γ, β), as nnU-Net uses for medical volumes.</summary>
    Instance,
}

/// <summary>The fixed features of the timestep fed to the time MLP.</summary>
public enum TimeEmbeddingKind
{
    /// <summary>DDPM's sinusoidal features of dim <see cref="UNetConfig.Channels"/> (Vaswani et al. 2017 §3.5).</summary>
    Sinusoidal,

    /// <summary>Gaussian Fourier features, 2·Channels wide (Song et al. 2021, NCSN++; diffusers' GaussianFourierProjection).</summary>
    Fourier,
}

/// <summary>
/// A 2-D or 3-D U-Net score network (Ronneberger et al. 2015; DDPM, Ho et al. 2020 App. B). The rank of
/// <see cref="Size"/> picks 2-D (H, W) or 3-D (D, H, W) kernels. Level i runs at Size/2^i with Channels·ChannelMult[i] channels.
/// <para>
/// <see cref="SkipMode.Concat"/> is DDPM's layout: the skips are conv_in's output, every ResBlock's output and every
/// downsample's output; each up level has NumResBlocks + 1 ResBlocks, each reading concat(h, skip).
/// <see cref="SkipMode.Add"/> is the seed notes' layout: the skips are the encoder ResBlocks' outputs only, each up level has
/// NumResBlocks ResBlocks reading h + skip, and each upsampler's conv maps the channels down to the next level's so the
/// addition is well-typed.
/// </para>
/// Class labels go through an embedding with one extra row — the null class, index NumClasses — for classifier-free guidance
/// (Ho &amp; Salimans 2022); a metadata vector goes through Linear → SiLU → Linear; both are added to the time embedding.
/// Defaults are DDPM's CIFAR-10 model (preset <c>ddpm-cifar10</c>, 35,746,307 parameters).
/// </summary>
public sealed record UNetConfig : ModelConfig, IClassConditional
{
    public int InChannels { get; init; } = 3;

    /// <summary>Defaults to <see cref="InChannels"/>.</summary>
    public int? OutChannels { get; init; }

    /// <summary>Per-sample spatial size: [H, W] or [D, H, W]. Must halve exactly at every downsampling level.</summary>
    public int[] Size { get; init; } = [32, 32];

    public int Channels { get; init; } = 128;

    public int[] ChannelMult { get; init; } = [1, 2, 2, 2];

    public int NumResBlocks { get; init; } = 2;

    /// <summary>Levels whose largest spatial dim is listed get self-attention after each ResBlock (DDPM: 16).</summary>
    public int[] AttentionResolutions { get; init; } = [16];

    /// <summary>Attention between the two middle ResBlocks.</summary>
    public bool MidAttention { get; init; } = true;

    public int AttentionHeads { get; init; } = 1;

    public NormKind Norm { get; init; } = NormKind.Group;

    public int NormGroups { get; init; } = 32;

    public double NormEps { get; init; } = 1e-6;

    public double Dropout { get; init; } = 0.1;

    public TimeEmbeddingKind TimeEmbedding { get; init; } = TimeEmbeddingKind.Sinusoidal;

    /// <summary>The time embedding is TimeEmbedMult·Channels wide (DDPM: 4).</summary>
    public int TimeEmbedMult { get; init; } = 4;

    /// <summary>σ of the Fourier frequencies (only for <see cref="TimeEmbeddingKind.Fourier"/>).</summary>
    public double FourierScale { get; init; } = 16;

    /// <summary>Sinusoidal features as [cos, sin] rather than DDPM's [sin, cos] (diffusers' flip_sin_to_cos; its default is true).</summary>
    public bool FlipSinToCos { get; init; }

    /// <summary>
    /// Frequencies ω_i = 10000^(−i/(h − FreqShift)): DDPM's 1 (diffusers' freq_shift / downscale_freq_shift; its default is 0).
    /// </summary>
    public double FreqShift { get; init; } = 1;

    public DownsampleKind Down { get; init; } = DownsampleKind.StridedConv;

    /// <summary>
    /// Where the strided downsampling conv pads: <see cref="Blocks.DownsamplePadding.Same"/> (bottom/right only, TensorFlow's
    /// 'SAME') is the original DDPM and how its published weights load; <see cref="Blocks.DownsamplePadding.Symmetric"/> pads
    /// every side (this library before 2026-11, diffusers' default).
    /// </summary>
    public DownsamplePadding DownsamplePadding { get; init; } = DownsamplePadding.Same;

    public UpsampleKind Up { get; init; } = UpsampleKind.NearestConv;

    public SkipMode Skip { get; init; } = SkipMode.Concat;

    public override PredictionTarget Target { get; init; } = PredictionTarget.Noise;

    /// <summary>0: unconditional. Otherwise labels 0…NumClasses−1, and NumClasses is the null class.</summary>
    public int NumClasses { get; init; }

    /// <summary>0: no metadata. Otherwise the width M of the (N, M) metadata vector (e.g. 2 for age and sex).</summary>
    public int MetadataDim { get; init; }

    public override long[] InputShape => [InChannels, .. Size.Select(d => (long)d)];

    public int Out => OutChannels ?? InChannels;

    public int TembDim => TimeEmbedMult * Channels;

    public int Levels => ChannelMult.Length;

    public Checked<UNetPlan> Plan() => UNetPlanner.Plan(this);

    public override Checked<IModelPlan> PlanModel() => Plan().Map(p => (IModelPlan)p);

    /// <summary>Two configs are equal when they serialise identically (value equality over the arrays too).</summary>
    public bool Equals(UNetConfig? other) => other is not null && ToJson() == other.ToJson();

    public override int GetHashCode() => ToJson().GetHashCode(StringComparison.Ordinal);
}
