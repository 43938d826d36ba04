using Diffusion.Primitives;

namespace Diffusion.Architectures;

/// <summary>A field's value and its JSON name, as a config's own limits report it.</summary>
internal readonly record struct Field(long Value, string Name);

/// <summary>
/// The <see cref="Limits"/> of a transformer on square images (DiT, U-ViT), under each config's own field names: checked
/// before anything is planned, so a depth of 10⁹ never plans a block.
/// </summary>
internal static class TransformerLimits
{
    public static IEnumerable<string> Check(string path, Field imageSize, Field patchSize, Field channels, Field width, Field depth, Field heads,
        Field classes, double mlpRatio) =>
    [
        .. Limits.Side.Check(imageSize.Value, path, imageSize.Name), .. Limits.Side.Check(patchSize.Value, path, patchSize.Name),
        .. Limits.Width.Check(channels.Value, path, channels.Name),
        .. Limits.Elements.Check(Math.Max(1.0, channels.Value) * imageSize.Value * imageSize.Value, path, $"elements per sample ({channels.Name} × {imageSize.Name}²)"),
        .. Limits.Width.Check(width.Value, path, width.Name), .. Limits.Repeats.Check(depth.Value, path, depth.Name),
        .. Limits.Width.Check(heads.Value, path, heads.Name), .. Limits.Classes.Check(classes.Value, path, classes.Name),
        .. Rules.Require(mlpRatio > 0 && mlpRatio <= Limits.Multiplier.Max, path, $"mlp_ratio={mlpRatio} must be in (0, {Limits.Multiplier.Max}]"),
    ];
}
