using Diffusion.Blocks;

namespace Diffusion.Architectures;

/// <summary>The U-Net entries of <see cref="Presets"/>; parameter counts are checked exactly by the tests.</summary>
public static class UNetPresets
{
    /// <summary>
    /// Ho et al. 2020's CIFAR-10 model (diffusion_tf/models/unet.py, ch 128, ch_mult (1, 2, 2, 2), attention at 16×16,
    /// dropout 0.1): 35,746,307 parameters, as the original.
    /// </summary>
    public static UNetConfig DdpmCifar10 => new();

    /// <summary>DDPM layout for 28×28 grey images (MNIST-sized): 1,112,801 parameters.</summary>
    public static UNetConfig UNet28 => new()
    {
        InChannels = 1, Size = [28, 28], Channels = 32, ChannelMult = [1, 2, 2], NumResBlocks = 1,
        AttentionResolutions = [7], NormGroups = 8, Dropout = 0,
    };

    /// <summary>DDPM layout in 3-D for 32³ volumes, no attention anywhere (the middle included): 715,185 parameters.</summary>
    public static UNetConfig UNet3d32 => new()
    {
        InChannels = 1, Size = [32, 32, 32], Channels = 16, ChannelMult = [1, 2, 2], NumResBlocks = 1,
        AttentionResolutions = [], MidAttention = false, NormGroups = 8, Dropout = 0,
    };

    /// <summary>
    /// 32³ single-channel volumes (e.g. CT/MR crops) conditioned on a metadata vector (age, sex) added to the time embedding.
    /// GroupNorm with 8 groups rather than InstanceNorm: volumes train at batch 1–4, which rules out BatchNorm and is fine for
    /// both; but InstanceNorm normalises each channel on its own, and at the 4³ and 8³ levels that is 64–512 positions
    /// per statistic, and it removes each channel's absolute intensity — which in CT (Hounsfield units) carries meaning.
    /// Attention only at 8³ (512 tokens) and in the middle keeps the L² term small.
    /// </summary>
    public static UNetConfig UNet3dMedical => new()
    {
        InChannels = 1, Size = [32, 32, 32], Channels = 32, ChannelMult = [1, 2, 4], NumResBlocks = 1,
        AttentionResolutions = [8], AttentionHeads = 4, NormGroups = 8, Dropout = 0.1, MetadataDim = 2,
    };

    /// <summary>
    /// The seed notes' UNetScoreNetwork (three levels, average-pool down, interpolation up, additive skips), with its
    /// defaults in_channels 3 and base 64, at 32×32 instead of 256×256. ConvBlock is left undefined by the seed; here it is
    /// DDPM's ResBlock. The seed's slip — <c>dec3(F.interpolate(b) + e3)</c> adds the 8×base bottleneck to the 4×base skip —
    /// is resolved by the upsampler: nearest ×2 then a 3×3 conv that maps the channels down to the skip's, so every sum is
    /// well-typed (<see cref="SkipMode.Add"/>). Two further deviations: the bottleneck is the middle block (ResBlock → ResBlock,
    /// 4×base at 8×8) rather than a fourth, pooled level at 8×base, and t enters through sinusoidal features rather than
    /// raw into Linear(1, 128), which is badly conditioned for t up to 999.
    /// </summary>
    public static UNetConfig SeedUNet => new()
    {
        InChannels = 3, Size = [32, 32], Channels = 64, ChannelMult = [1, 2, 4], NumResBlocks = 1,
        AttentionResolutions = [], MidAttention = false, NormGroups = 32, Dropout = 0,
        Down = DownsampleKind.AvgPool, Up = UpsampleKind.NearestConv, Skip = SkipMode.Add,
    };
}
