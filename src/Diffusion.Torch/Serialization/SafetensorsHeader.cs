namespace Diffusion.Torch.Serialization;

/// <summary>
/// One tensor's entry in a safetensors header: its element type, shape and the byte range
/// [<see cref="Begin"/>, <see cref="End"/>) it occupies, relative to the start of the data buffer.
/// </summary>
public sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ByteCount => End - Begin;
}

/// <summary>
/// A validated safetensors header: entries ordered by position in the data buffer, which they cover
/// exactly, the free-form string metadata, and where the data buffer starts in the file.
/// </summary>
public sealed record SafetensorsHeader(
    IReadOnlyList<SafetensorsEntry> Tensors,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart,
    long DataLength);

/// <summary>Tensors and metadata read from one safetensors file; disposing it disposes every tensor.</summary>
public sealed record SafetensorsFile(Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) : IDisposable
{
    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
