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
