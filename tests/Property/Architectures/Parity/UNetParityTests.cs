using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// Our U-Net against Fixtures/parity/ddpm_unet.py, a transcription of diffusers' UNet2DModel (the layout of Google's
/// converted DDPM checkpoints), generalised to 3-D. Every case runs with both downsample paddings: "same" (the
/// original's F.pad(x, (0, 1, 0, 1)) then a stride-2 conv with padding 0, diffusers' downsample_padding=0) and
/// "symmetric" (padding 1 all round, diffusers' downsample_padding=1). The mode travels in the config JSON as
/// <c>downsample_padding</c>; a C# build whose UNetConfig lacks the field ignores it and pads symmetrically, so a
/// "same" case first asserts that our config carried the field — it fails loudly rather than comparing the wrong thing.
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
        new[] { "same", "symmetric" }.Select(mode => new ParityCase($"{name}.{mode}", WithPadding(config, mode), times, labels, metadata,
            Keep: n => n == "time_proj.W")); // the Fourier frequencies stay N(0, 16²) as drawn: a fixed buffer

    /// <summary>The config's JSON with <c>downsample_padding</c> set; "kind" stays first, as the polymorphic reader needs.</summary>
    private static string WithPadding(ModelConfig config, string mode)
    {
        var node = JsonNode.Parse(config.ToJson())!.AsObject();
        node["downsample_padding"] = mode;
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static readonly IReadOnlyList<ParityCase> Cases =
    [
        .. Both("unet28", Presets.Get("unet28"), [0, 17, 500, 999]),
        .. Both("ddpm-cifar10", Presets.Get("ddpm-cifar10"), [17, 999]), // 35.7M parameters: batch 2 keeps both forwards to seconds
        .. Both("unet3d32", Presets.Get("unet3d32"), [0, 250, 999]),
        .. Both("unet3d16-attn-meta", Small3d, [0, 17, 999], metadata: 2),
        .. Both("unet16-cond", Cond2d, [0, 17, 500, 999], labels: [0, 3, 9, 10]), // 10 = the null class
        .. Both("unet8-fourier", Fourier2d, [0.01, 0.3, 0.77, 1.0]),
        .. Both("unet8-instance", Instance2d, [0, 17, 999]),
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, ParityResult>> Results = new(() => ParityRun.Execute(Cases));

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Matches_diffusers_UNet2DModel(string name)
    {
        var r = Results.Value[name];
        if (r.Error is null)
        {
            var mode = name[(name.LastIndexOf('.') + 1)..];
            // Without the field our U-Net can only pad as it did before it existed (symmetrically): "same" must be carried.
            // The message still states the error against the reference, so the size of the padding's effect is on record.
            Assert.True(mode == "symmetric" || r.OurConfigJson.Contains($"\"downsample_padding\": \"{mode}\"", StringComparison.Ordinal),
                $"{name}: our UNetConfig dropped downsample_padding=\"{mode}\" (the JSON field is unknown here and ignored), so our model "
                + $"padded symmetrically; max |ours - theirs| / (|theirs| + rms) = {ParityAssert.MaxRelativeError(r.Ours, r.Theirs):E3}");
        }
        ParityAssert.Close(name, r, output);
    }
}
