namespace Diffusion.Torch.Serialization;

/// <summary>
/// Reads and writes the Hugging Face safetensors format: an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON (<c>{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {…}}</c>),
/// then the raw little-endian tensor data. Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
/// Loaded tensors are CPU tensors owned by the caller (or by the current <see cref="DisposeScope"/>).
/// A malformed input throws <see cref="SafetensorsFormatException"/> before any tensor is created.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, stride or layout) to <paramref name="path"/>. The file
    /// is written beside the target under a temporary name, flushed to disk and then moved over the target,
    /// so a crash leaves either the old file or the new one, never a torn one.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var writer = SafetensorsWriter.Plan(tensors, metadata);
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                stream.SetLength(writer.TotalLength);
                writer.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    // A failure to clean up must not hide the failure that caused it.
    private static void DeleteQuietly(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The bytes <see cref="Save"/> would write (limited to what one .NET array holds).</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Plan(tensors, metadata).ToArray();

    /// <summary>Every tensor of the file, keyed by name.</summary>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>Every tensor of the file and its <c>__metadata__</c>.</summary>
    public static SafetensorsFile LoadWithMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SafetensorsReader.Load(path);
    }

    /// <summary>The file's <c>__metadata__</c>, reading only the header.</summary>
    public static IReadOnlyDictionary<string, string> LoadMetadata(string path) => ReadHeader(path).Metadata;

    /// <summary>The validated header (names, dtypes, shapes, offsets, metadata) without reading tensor data.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SafetensorsReader.ReadHeader(path);
    }

    /// <summary>Every tensor of an in-memory safetensors buffer.</summary>
    public static Dictionary<string, Tensor> Deserialize(ReadOnlySpan<byte> data) => SafetensorsReader.Deserialize(data).Tensors;

    /// <summary>Every tensor of an in-memory safetensors buffer and its <c>__metadata__</c>.</summary>
    public static SafetensorsFile DeserializeWithMetadata(ReadOnlySpan<byte> data) => SafetensorsReader.Deserialize(data);

    /// <summary>The validated header of an in-memory safetensors buffer.</summary>
    public static SafetensorsHeader ReadHeader(ReadOnlySpan<byte> data) => SafetensorsReader.ReadHeader(data);
}
