namespace Diffusion.Architectures;

/// <summary>
/// Named model definitions, one table (as DiT's DiT_models). Parameter counts beside each entry are the
/// published ones; tests check them exactly.
/// </summary>
public static class Presets
{
    private static readonly Dictionary<string, Func<ModelConfig>> Table = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mlp-seed"] = () => new MlpConfig(), // 37,762
        ["ddpm-cifar10"] = () => UNetPresets.DdpmCifar10, // 35,746,307 (Ho et al. 2020)
        ["unet28"] = () => UNetPresets.UNet28, // 1,112,801
        ["unet3d32"] = () => UNetPresets.UNet3d32, // 715,185
        ["unet3d-medical"] = () => UNetPresets.UNet3dMedical, // 7,213,537
        ["seed-unet"] = () => UNetPresets.SeedUNet, // 5,953,411
    };

    public static IReadOnlyCollection<string> Names => Table.Keys;

    public static ModelConfig Get(string name) =>
        Table.TryGetValue(name, out var make) ? make()
        : throw new KeyNotFoundException($"no preset '{name}'; known presets: {string.Join(", ", Table.Keys.Order())}");

    /// <summary>A preset name, or a path to a JSON model config.</summary>
    public static ModelConfig Resolve(string presetOrPath) =>
        Table.ContainsKey(presetOrPath) ? Get(presetOrPath)
        : File.Exists(presetOrPath) ? ModelConfig.FromJson(File.ReadAllText(presetOrPath))
        : throw new KeyNotFoundException($"'{presetOrPath}' is neither a preset ({string.Join(", ", Table.Keys.Order())}) nor a JSON config file");
}
