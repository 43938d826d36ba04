namespace Diffusion.Torch.Serialization;

/// <summary>
/// A PyTorch checkpoint that this reader refuses: not a zip archive written by <c>torch.save</c> (≥ 1.6), a pickle
/// that uses an opcode or a global outside the allowed set, a missing or short storage record, a tensor that
/// reaches past its storage, or a key path that selects no tensor dictionary. The message names the file, the
/// archive record and the byte offset in it when known, the entry (key path) when one is at fault, and the rule.
/// </summary>
public sealed class TorchCheckpointFormatException(string source, string? record, long? offset, string? entry, string rule)
    : FileFormatException(source, offset, rule, source + (record is null ? "" : $": {record}") + At(offset) + (entry is null ? "" : $": entry '{entry}'"))
{
    /// <summary>The zip record at fault (e.g. <c>archive/data.pkl</c>, <c>archive/data/3</c>), if any.</summary>
    public string? Record { get; } = record;

    /// <summary>The key path of the entry at fault (e.g. <c>ema.x_embedder.proj.weight</c>), if any.</summary>
    public string? Entry { get; } = entry;
}
