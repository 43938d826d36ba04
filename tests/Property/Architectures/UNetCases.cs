using Diffusion.Architectures;
using Diffusion.Blocks;
using FsCheck;
using FsCheck.Fluent;

namespace Diffusion.Property.Tests.Architectures;

/// <summary>Random small valid U-Net configs: 2-D ≤ 24², 3-D ≤ 8³, 1–3 levels, channels ≤ 48.</summary>
public static class UNetCases
{
    private static Gen<bool> Bool => Gen.Elements(true, false);

    public static readonly Gen<UNetConfig> Valid =
        from rank in Gen.Elements(2, 3)
        from levels in Gen.Choose(1, 3)
        from dims in Gen.Choose(1, rank == 2 ? 3 : 2).Select(k => k << (levels - 1)).ArrayOf(rank)
        from inCh in Gen.Choose(1, 3)
        from outCh in Gen.Elements<int?>(null, 2)
        from channels in Gen.Elements(8, 16)
        from mult in Gen.Choose(1, 3).ArrayOf(levels)
        from nres in Gen.Choose(1, 2)
        from attnLevels in Bool.ArrayOf(levels)
        from midAttn in Bool
        from heads in Gen.Elements(1, 2)
        from instance in Bool
        from groups in Gen.Elements(4, 8)
        from fourier in Bool
        from down in Gen.Elements(DownsampleKind.StridedConv, DownsampleKind.AvgPool)
        from padding in Gen.Elements(DownsamplePadding.Same, DownsamplePadding.Symmetric)
        from up in Gen.Elements(UpsampleKind.NearestConv, UpsampleKind.TransposedConv)
        from skip in Gen.Elements(SkipMode.Concat, SkipMode.Add)
        from classes in Gen.Elements(0, 3)
        from metadata in Gen.Elements(0, 2)
        from dropout in Gen.Elements(0.0, 0.1)
        select new UNetConfig
        {
            InChannels = inCh, OutChannels = outCh, Size = dims, Channels = channels, ChannelMult = mult, NumResBlocks = nres,
            AttentionResolutions = Enumerable.Range(0, levels).Where(i => attnLevels[i]).Select(i => dims.Max() >> i).Distinct().ToArray(),
            MidAttention = midAttn, AttentionHeads = heads, Norm = instance ? NormKind.Instance : NormKind.Group, NormGroups = groups,
            TimeEmbedding = fourier ? TimeEmbeddingKind.Fourier : TimeEmbeddingKind.Sinusoidal, TimeEmbedMult = 2,
            Down = down, DownsamplePadding = padding, Up = up, Skip = skip, NumClasses = classes, MetadataDim = metadata, Dropout = dropout,
        };
}
