namespace Diffusion.Torch.Serialization;

/// <summary>
/// A safetensors file (or buffer) that breaks a rule of the format. The message names the source,
/// the tensor when one is at fault, the byte offset in the file when one is known, and the rule.
/// </summary>
public sealed class SafetensorsFormatException : FormatException
{
    public SafetensorsFormatException(string source, string? tensor, long? offset, string rule)
        : base(Compose(source, tensor, offset, rule))
    {
        SourceName = source;
        Tensor = tensor;
        Offset = offset;
        Rule = rule;
    }

    /// <summary>The file path, or "&lt;memory&gt;" for an in-memory buffer.</summary>
    public string SourceName { get; }

    /// <summary>The tensor whose entry is at fault, if any.</summary>
    public string? Tensor { get; }

    /// <summary>Byte offset from the start of the file (not of the data buffer), if known.</summary>
    public long? Offset { get; }

    /// <summary>The broken rule, without the location prefix.</summary>
    public string Rule { get; }

    private static string Compose(string source, string? tensor, long? offset, string rule)
    {
        var where = source;
        if (tensor is not null) where += $": tensor '{tensor}'";
        if (offset is { } o) where += $" (byte {o})";
        return $"{where}: {rule}";
    }
}
