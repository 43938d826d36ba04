namespace Diffusion.Primitives;

/// <summary>
/// Checks that a config is checked with once, into a plan; each problem names its path, field and rule.
/// Rules return zero or one problem, so independent checks concatenate with collection expressions.
/// </summary>
public static class Rules
{
    /// <summary>One problem at <paramref name="path"/> unless <paramref name="ok"/>.</summary>
    public static IEnumerable<string> Require(bool ok, string path, string message) =>
        ok ? [] : [path.Length == 0 ? message : $"{path}: {message}"];

    /// <summary>A positive integer field, e.g. <c>channels=0 must be positive</c>.</summary>
    public static IEnumerable<string> Positive(long value, string path, string field) =>
        Require(value > 0, path, $"{field}={value} must be positive");

    /// <summary>Attention heads split a width evenly (DDPM/diffusers attention, DiT and ViT blocks alike).</summary>
    public static IEnumerable<string> HeadsDivide(int heads, int width, string path) =>
        Require(heads <= 0 || width <= 0 || width % heads == 0, path, $"heads={heads} does not divide dim={width}");

    /// <summary>Joins a parent path and a child name: <c>Child("down_blocks.2", "resnets.0")</c> → <c>down_blocks.2.resnets.0</c>.</summary>
    public static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>The last segment of a dotted path — a module's name under its parent (<c>resnets.0</c> keeps its index).</summary>
    public static string Leaf(string path)
    {
        var parts = path.Split('.');
        return parts.Length >= 2 && int.TryParse(parts[^1], out _) ? $"{parts[^2]}.{parts[^1]}" : parts[^1];
    }
}

/// <summary>An invalid configuration: every problem found, each naming its path, field and rule.</summary>
public sealed class ConfigException(IReadOnlyList<string> problems)
    : Exception($"invalid configuration ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>An input whose rank or shape does not match the plan, named by block path.</summary>
public sealed class ShapeException(string path, string expected, long[] actual)
    : Exception($"{(path.Length == 0 ? "input" : path)}: expected {expected}, got [{string.Join(", ", actual)}]");
