namespace Diffusion.Torch.Serialization;

/// <summary>
/// A file (or buffer) that breaks a rule of its format. The message is "where: rule", where names the file and, when
/// known, the record or tensor at fault and the byte offset; each format adds its own locations.
/// </summary>
public abstract class FileFormatException(string source, long? offset, string rule, string where) : FormatException($"{where}: {rule}")
{
    /// <summary>The file path, or "&lt;memory&gt;" for an in-memory buffer.</summary>
    public string SourceName { get; } = source;

    /// <summary>Byte offset of the fault, if known (from the start of the file, or of the record named in the message).</summary>
    public long? Offset { get; } = offset;

    /// <summary>The broken rule, without the location prefix.</summary>
    public string Rule { get; } = rule;

    /// <summary>" (byte N)" when the offset is known.</summary>
    protected static string At(long? offset) => offset is { } o ? $" (byte {o})" : "";
}
