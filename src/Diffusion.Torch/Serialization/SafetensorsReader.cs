using Microsoft.Win32.SafeHandles;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// Reads safetensors from a file or a buffer. The whole header is validated before the first tensor
/// is created; from a file each tensor's bytes are read straight into its fresh storage.
/// </summary>
internal static class SafetensorsReader
{
    public const string MemorySource = "<memory>";

    public static SafetensorsHeader ReadHeader(string path)
    {
        using var file = OpenRead(path);
        return ReadHeader(file, path);
    }

    public static SafetensorsFile Load(string path)
    {
        using var file = OpenRead(path);
        var header = ReadHeader(file, path);
        return Materialize(header, e => TensorBytes.Fill(e.Shape, e.DType, e.ByteCount,
            (piece, at) => ReadExactly(file, piece, header.DataStart + e.Begin + at, path, e.Name)));
    }

    public static SafetensorsHeader ReadHeader(ReadOnlySpan<byte> data)
    {
        var n = SafetensorsHeaderParser.ReadHeaderLength(data, data.Length, MemorySource);
        var json = data.Slice(SafetensorsHeaderParser.PrefixBytes, (int)n).ToArray();
        var dataLength = data.Length - SafetensorsHeaderParser.PrefixBytes - n;
        return SafetensorsHeaderParser.Parse(json, dataLength, MemorySource);
    }

    public static unsafe SafetensorsFile Deserialize(ReadOnlySpan<byte> data)
    {
        var header = ReadHeader(data);
        // A span cannot be captured by the lambda; pin it and hand out validated slices of the pinned block.
        fixed (byte* p = data)
        {
            var start = p + header.DataStart;
            return Materialize(header, e => TensorBytes.FromBytes(new ReadOnlySpan<byte>(start + e.Begin, (int)e.ByteCount), e.Shape, e.DType));
        }
    }

    /// <summary>Creates every tensor in buffer order; if one fails, those already created are freed.</summary>
    private static SafetensorsFile Materialize(SafetensorsHeader header, Func<SafetensorsEntry, Tensor> create)
    {
        var created = new List<(string Name, Tensor Tensor)>(header.Tensors.Count);
        try
        {
            foreach (var e in header.Tensors) created.Add((e.Name, create(e)));
        }
        catch
        {
            foreach (var (_, t) in created) t.Dispose();
            throw;
        }
        var tensors = new Dictionary<string, Tensor>(created.Count, StringComparer.Ordinal);
        foreach (var (name, t) in created.OrderBy(c => c.Name, StringComparer.Ordinal)) tensors.Add(name, t);
        return new SafetensorsFile(tensors, header.Metadata);
    }

    private static SafeFileHandle OpenRead(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);

    private static SafetensorsHeader ReadHeader(SafeFileHandle file, string path)
    {
        var length = RandomAccess.GetLength(file);
        Span<byte> prefix = stackalloc byte[SafetensorsHeaderParser.PrefixBytes];
        if (length >= prefix.Length) ReadExactly(file, prefix, 0, path, null);
        var n = SafetensorsHeaderParser.ReadHeaderLength(prefix, length, path);
        var json = new byte[n];
        ReadExactly(file, json, SafetensorsHeaderParser.PrefixBytes, path, null);
        return SafetensorsHeaderParser.Parse(json, length - SafetensorsHeaderParser.PrefixBytes - n, path);
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; a file that shrank since its length was read is an error.</summary>
    private static void ReadExactly(SafeFileHandle file, Span<byte> destination, long offset, string path, string? tensor)
    {
        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(file, destination, offset);
            if (n == 0)
                throw SafetensorsHeaderParser.Fail(path, tensor, offset, "the file ended early (was it truncated while being read?)");
            destination = destination[n..];
            offset += n;
        }
    }
}
