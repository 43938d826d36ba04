using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// Lays tensors out as the reference implementation does: the header lists tensors (here sorted by
/// name, so the same tensors always give the same bytes) with contiguous, gap-free data_offsets; it is
/// padded with spaces to a multiple of 8 bytes so the data buffer starts aligned.
/// </summary>
internal sealed class SafetensorsWriter
{
    private readonly byte[] header;
    private readonly (Tensor Tensor, long Bytes)[] layout;

    private SafetensorsWriter(byte[] header, (Tensor, long)[] layout)
    {
        this.header = header;
        this.layout = layout;
    }

    /// <summary>Bytes of the whole file: prefix, padded header, data.</summary>
    public long TotalLength => SafetensorsHeaderParser.PrefixBytes + header.Length + layout.Sum(e => e.Bytes);

    public static SafetensorsWriter Plan(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);

        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable; the output is still plain JSON.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 }) WriteMetadata(json, metadata);
            var layout = new (Tensor, long)[names.Length];
            long offset = 0;
            for (var k = 0; k < names.Length; k++)
            {
                var (name, t) = (names[k], tensors[names[k]]);
                if (name == SafetensorsHeaderParser.MetadataKey)
                    throw new ArgumentException($"'{name}' is reserved for metadata and cannot name a tensor", nameof(tensors));
                if (t is null) throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
                var dtype = t.dtype;
                string dtypeName;
                try { dtypeName = SafetensorsDType.NameOf(dtype); }
                catch (NotSupportedException e) { throw new ArgumentException($"tensor '{name}': {e.Message}", nameof(tensors), e); }
                var shape = t.shape;
                var bytes = t.numel() * dtype.ElementSize();

                json.WriteStartObject(name);
                json.WriteString("dtype", dtypeName);
                json.WriteStartArray("shape");
                foreach (var d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();

                layout[k] = (t, bytes);
                offset += bytes;
            }
            json.WriteEndObject();
            json.Flush();
            return new SafetensorsWriter(Pad(buffer.WrittenSpan), layout);
        }
    }

    private static void WriteMetadata(Utf8JsonWriter json, IReadOnlyDictionary<string, string> metadata)
    {
        json.WriteStartObject(SafetensorsHeaderParser.MetadataKey);
        foreach (var key in metadata.Keys.Order(StringComparer.Ordinal))
        {
            var value = metadata[key] ?? throw new ArgumentException($"metadata value of '{key}' is null", nameof(metadata));
            json.WriteString(key, value);
        }
        json.WriteEndObject();
    }

    private static byte[] Pad(ReadOnlySpan<byte> json)
    {
        var padded = new byte[(json.Length + 7) / 8 * 8];
        json.CopyTo(padded);
        padded.AsSpan(json.Length).Fill((byte)' ');
        if (padded.Length > SafetensorsHeaderParser.MaxHeaderBytes)
            throw new ArgumentException($"the header would take {padded.Length} bytes, more than the {SafetensorsHeaderParser.MaxHeaderBytes} readers accept");
        return padded;
    }

    public void WriteTo(Stream stream)
    {
        Span<byte> prefix = stackalloc byte[SafetensorsHeaderParser.PrefixBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (t, bytes) in layout) TensorBytes.WriteTo(t, bytes, stream);
    }

    public byte[] ToArray()
    {
        var total = TotalLength;
        if (total > Array.MaxLength)
            throw new InvalidOperationException($"{total} bytes do not fit in one .NET array: use Safetensors.Save to write a file");
        var result = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, SafetensorsHeaderParser.PrefixBytes);
        var at = SafetensorsHeaderParser.PrefixBytes + header.Length;
        foreach (var (t, bytes) in layout)
        {
            TensorBytes.CopyTo(t, result.AsSpan(at, (int)bytes));
            at += (int)bytes;
        }
        return result;
    }
}
