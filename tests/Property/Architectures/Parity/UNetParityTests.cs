using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// Our U-Net against Fixtures/parity/ddpm_unet.py, a transcription of diffusers' UNet2DModel (the layout of Google's
/// converted DDPM checkpoints), generalised to 3-D. Every case runs with both downsample paddings: "same" (the
/// original's F.pad(x, (0, 1, 0, 1)) then a stride-2 conv with padding 0, diffusers' downsample_padding=0) and
/// "symmetric" (padding 1 all round, diffusers' downsample_padding=1), set through <see cref="UNetConfig.DownsamplePadding"/>
/// and read by the script from the config's JSON (<c>downsample_padding</c>).
/// </summary>
public class UNetParityTests(ITestOutputHelper output)
{
    private static readonly UNetConfig Cond2d = new()
    {
        InChannels = 3, Size = [16, 16], Channels = 32, ChannelMult = [1, 2], NumResBlocks = 2, AttentionResolutions = [8],
        AttentionHeads = 2, NormGroups = 8, Dropout = 0, NumClasses = 10,
    };

    private static readonly UNetConfig Small3d = new()
    {
        InChannels = 1, Size = [16, 16, 16], Channels = 8, ChannelMult = [1, 2, 4], NumResBlocks = 1, AttentionResolutions = [8],
        AttentionHeads = 4, NormGroups = 4, Dropout = 0.1, MetadataDim = 2,
    };

    /// <summary>Gaussian Fourier time features (score_sde's GaussianFourierProjection); t continuous, as σ or t ∈ (0, 1].</summary>
    private static readonly UNetConfig Fourier2d = new()
    {
        InChannels = 2, Size = [8, 8], Channels = 16, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [4],
        NormGroups = 4, Dropout = 0, TimeEmbedding = TimeEmbeddingKind.Fourier,
    };

    /// <summary>norm="instance": one GroupNorm group per channel everywhere (ResBlocks, attention, conv_norm_out).</summary>
    private static readonly UNetConfig Instance2d = new()
    {
        InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [4],
        Norm = NormKind.Instance, Dropout = 0,
    };

    private static IEnumerable<ParityCase> Both(string name, ModelConfig config, double[] times, long[]? labels = null, int metadata = 0) =>
        new[] { DownsamplePadding.Same, DownsamplePadding.Symmetric }.Select(mode => new ParityCase(
            $"{name}.{mode.ToString().ToLowerInvariant()}", (((UNetConfig)config) with { DownsamplePadding = mode }).ToJson(), times, labels, metadata,
            Keep: n => n == "time_proj.W")); // the Fourier frequencies stay N(0, 16²) as drawn: a fixed buffer

    private static readonly IReadOnlyList<ParityCase> Cases =
    [
        .. Both("unet28", Presets.Get("unet28"), [0, 17, 500, 999]),
        .. Both("ddpm-cifar10", Presets.Get("ddpm-cifar10"), [17, 999]), // 35.7M parameters: batch 2 keeps both forwards to seconds
        .. Both("unet3d32", Presets.Get("unet3d32"), [0, 250, 999]),
        .. Both("unet3d16-attn-meta", Small3d, [0, 17, 999], metadata: 2),
        .. Both("unet16-cond", Cond2d, [0, 17, 500, 999], labels: [0, 3, 9, 10]), // 10 = the null class
        .. Both("unet8-fourier", Fourier2d, [0.01, 0.3, 0.77, 1.0]),
        .. Both("unet8-instance", Instance2d, [0, 17, 999]),
        .. Both("unet8-diffusers-time", Instance2d with { Norm = NormKind.Group, NormGroups = 4, FlipSinToCos = true, FreqShift = 0 }, [0, 17, 999]), // UNet2DModel's defaults
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, ParityResult>> Results = new(() => ParityRun.Execute(Cases));

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Matches_diffusers_UNet2DModel(string name) => ParityAssert.Close(name, Results.Value[name], output);
}
