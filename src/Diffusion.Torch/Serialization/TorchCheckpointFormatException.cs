namespace Diffusion.Torch.Serialization;

/// <summary>
/// A PyTorch checkpoint that this reader refuses: not a zip archive written by <c>torch.save</c> (≥ 1.6), a pickle
/// that uses an opcode or a global outside the allowed set, a missing or short storage record, a tensor that
/// reaches past its storage, or a key path that selects no tensor dictionary. The message names the file, the
/// archive record and the byte offset in it when known, the entry (key path) when one is at fault, and the rule.
/// </summary>
public sealed class TorchCheckpointFormatException : FormatException
{
    public TorchCheckpointFormatException(string source, string? record, long? offset, string? entry, string rule)
        : base(Compose(source, record, offset, entry, rule))
    {
        SourceName = source;
        Record = record;
        Offset = offset;
        Entry = entry;
        Rule = rule;
    }

    /// <summary>The checkpoint's path.</summary>
    public string SourceName { get; }

    /// <summary>The zip record at fault (e.g. <c>archive/data.pkl</c>, <c>archive/data/3</c>), if any.</summary>
    public string? Record { get; }

    /// <summary>Byte offset inside <see cref="Record"/> (for data.pkl: the offending opcode), if known.</summary>
    public long? Offset { get; }

    /// <summary>The key path of the entry at fault (e.g. <c>ema.x_embedder.proj.weight</c>), if any.</summary>
    public string? Entry { get; }

    /// <summary>The broken rule, without the location prefix.</summary>
    public string Rule { get; }

    private static string Compose(string source, string? record, long? offset, string? entry, string rule)
    {
        var where = source;
        if (record is not null) where += $": {record}";
        if (offset is { } o) where += $" (byte {o})";
        if (entry is not null) where += $": entry '{entry}'";
        return $"{where}: {rule}";
    }
}
