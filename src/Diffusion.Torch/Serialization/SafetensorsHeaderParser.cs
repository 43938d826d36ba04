using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// Checks the 8-byte length prefix and the JSON header of a safetensors file against every rule of the
/// format before any tensor is created, so a malformed file never reaches native memory.
/// The rules follow the reference implementation (huggingface/safetensors, <c>Metadata::validate</c>).
/// </summary>
internal static class SafetensorsHeaderParser
{
    /// <summary>The reference implementation's limit (<c>MAX_HEADER_SIZE</c>).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    public const int PrefixBytes = 8;

    /// <summary>The header length N from the prefix, checked against the limit and the total length.</summary>
    public static long ReadHeaderLength(ReadOnlySpan<byte> prefix, long totalLength, string source)
    {
        if (totalLength < PrefixBytes)
            throw Fail(source, null, 0, $"the file holds {totalLength} bytes, fewer than the 8-byte header length prefix");
        var n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes)
            throw Fail(source, null, 0, $"header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)n > totalLength - PrefixBytes)
            throw Fail(source, null, 0, $"header length {n} runs past the end of the file ({totalLength - PrefixBytes} bytes follow the prefix)");
        return (long)n;
    }

    /// <summary>Parses and validates the header; <paramref name="dataLength"/> is the size of the data buffer after it.</summary>
    public static SafetensorsHeader Parse(ReadOnlyMemory<byte> json, long dataLength, string source)
    {
        long dataStart = PrefixBytes + json.Length;
        using var doc = ParseJson(json, source);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Fail(source, null, PrefixBytes, $"the header must be a JSON object, not {doc.RootElement.ValueKind}");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<SafetensorsEntry>();
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw Fail(source, property.Name, null, "the name appears twice in the header");
            if (property.Name == MetadataKey)
                metadata = ParseMetadata(property.Value, source);
            else
                entries.Add(ParseEntry(property.Name, property.Value, dataLength, dataStart, source));
        }

        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
            : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
        CheckCoverage(entries, dataLength, dataStart, source);
        return new SafetensorsHeader(entries, metadata, dataStart, dataLength);
    }

    private static JsonDocument ParseJson(ReadOnlyMemory<byte> json, string source)
    {
        // JsonDocument checks UTF-8 only when a string is read; check it all before anything is trusted.
        var bytes = json.Span;
        for (var at = 0; at < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out var used) != OperationStatus.Done)
                throw Fail(source, null, PrefixBytes + at, "the header is not valid UTF-8");
            at += used;
        }
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            // Headers are written on one line; the position is then a byte offset into the header.
            long? offset = e.LineNumber == 0 && e.BytePositionInLine is { } p ? PrefixBytes + p : null;
            throw Fail(source, null, offset, $"the header is not valid JSON: {e.Message}");
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(source, null, null, $"'{MetadataKey}' must be an object of strings, not {value.ValueKind}");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw Fail(source, null, null, $"'{MetadataKey}' value of '{p.Name}' must be a string, not {p.Value.ValueKind}");
            if (!result.TryAdd(p.Name, p.Value.GetString()!))
                throw Fail(source, null, null, $"'{MetadataKey}' key '{p.Name}' appears twice");
        }
        return result;
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement value, long dataLength, long dataStart, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(source, name, null, $"the entry must be an object with dtype, shape and data_offsets, not {value.ValueKind}");

        if (!value.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw Fail(source, name, null, "'dtype' is missing or not a string");
        var dtypeName = dtypeJson.GetString()!;
        if (!SafetensorsDType.TryParse(dtypeName, out var dtype))
            throw Fail(source, name, null, $"unknown dtype '{dtypeName}' (supported: {SafetensorsDType.Supported})");

        var shape = ReadIntegers(value, "shape", name, source);
        if (shape.Any(d => d < 0))
            throw Fail(source, name, null, $"shape [{string.Join(", ", shape)}] has a negative dimension");

        var offsets = ReadIntegers(value, "data_offsets", name, source);
        if (offsets.Length != 2)
            throw Fail(source, name, null, $"data_offsets must hold 2 integers [begin, end], not {offsets.Length}");
        var (begin, end) = (offsets[0], offsets[1]);
        var span = $"data_offsets [{begin}, {end}]";
        if (begin < 0 || end < 0)
            throw Fail(source, name, null, $"{span} must not be negative");
        if (begin > end)
            throw Fail(source, name, dataStart + begin, $"{span}: begin is after end");
        if (end > dataLength)
            throw Fail(source, name, dataStart + begin, $"{span}: end is beyond the data buffer of {dataLength} bytes");

        long bytes;
        try
        {
            bytes = dtype.ElementSize();
            foreach (var d in shape) bytes = checked(bytes * d);
        }
        catch (OverflowException)
        {
            throw Fail(source, name, null, $"shape [{string.Join(", ", shape)}] of {dtypeName} has too many bytes to address");
        }
        if (bytes != end - begin)
            throw Fail(source, name, dataStart + begin,
                $"shape [{string.Join(", ", shape)}] of {dtypeName} needs {bytes} bytes but {span} span {end - begin}");

        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>An array of integers, rejecting fractions, exponents beyond long and other kinds.</summary>
    private static long[] ReadIntegers(JsonElement entry, string key, string name, string source)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Fail(source, name, null, $"'{key}' is missing or not an array");
        var result = new long[array.GetArrayLength()];
        var k = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v))
                throw Fail(source, name, null, $"'{key}' must hold integers; element {k} is {item.GetRawText()}");
            result[k++] = v;
        }
        return result;
    }

    /// <summary>
    /// Entries sorted by begin must tile the data buffer: no overlaps, no gaps, nothing left over
    /// (the reference rejects a buffer not fully covered as "metadata incomplete buffer").
    /// </summary>
    private static void CheckCoverage(List<SafetensorsEntry> sorted, long dataLength, long dataStart, string source)
    {
        long covered = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in sorted)
        {
            if (e.Begin < covered)
                throw Fail(source, e.Name, dataStart + e.Begin,
                    $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}]");
            if (e.Begin > covered)
                throw Fail(source, e.Name, dataStart + covered,
                    $"bytes [{covered}, {e.Begin}) of the data buffer before this tensor belong to no tensor (incomplete buffer)");
            covered = e.End;
            previous = e;
        }
        if (covered != dataLength)
            throw Fail(source, null, dataStart + covered,
                $"bytes [{covered}, {dataLength}) at the end of the data buffer belong to no tensor (incomplete buffer)");
    }

    public static SafetensorsFormatException Fail(string source, string? tensor, long? offset, string rule) =>
        new(source, tensor, offset, rule);
}
