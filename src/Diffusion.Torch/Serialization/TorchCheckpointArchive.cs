using System.IO.Compression;
using System.Text;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// The zip archive <c>torch.save</c> writes since PyTorch 1.6 (caffe2/serialize/inline_container.h): one top-level
/// folder <c>&lt;name&gt;/</c> holding <c>data.pkl</c> (the pickled object tree), <c>data/&lt;key&gt;</c> (one record per
/// storage, raw elements in the byte order of <c>byteorder</c>, little-endian when absent) and <c>version</c>.
/// Records are stored uncompressed and 64-byte aligned; ZipArchive reads them as well as any deflated ones.
/// </summary>
internal sealed class TorchCheckpointArchive : IDisposable
{
    /// <summary>
    /// The legacy format (torch &lt; 1.6, or <c>_use_new_zipfile_serialization=False</c>) is a stream of pickles
    /// starting with the magic number 0x1950a86a20f9469cfc6c (torch/serialization.py MAGIC_NUMBER), pickled
    /// with protocol 2: PROTO 2, LONG1 of 10 bytes, the number little-endian.
    /// </summary>
    private static readonly byte[] LegacyMagic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    private readonly ZipArchive zip;

    private TorchCheckpointArchive(string source, ZipArchive zip, string prefix)
    {
        Source = source;
        this.zip = zip;
        Prefix = prefix;
    }

    public string Source { get; }

    /// <summary>The archive's folder name (torch.save uses the file's name without extension; 2.x uses <c>archive</c>).</summary>
    public string Prefix { get; }

    public string PickleRecord => $"{Prefix}/data.pkl";

    public string StorageRecord(string key) => $"{Prefix}/data/{key}";

    public static TorchCheckpointArchive Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            RefuseLegacy(stream, path);
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
            }
            catch (InvalidDataException e)
            {
                throw Fail(path, null, $"not a zip archive as torch.save (≥ 1.6) writes ({e.Message})");
            }
            var archive = new TorchCheckpointArchive(path, zip, FindPrefix(zip, path));
            archive.CheckByteOrder();
            return archive;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static void RefuseLegacy(FileStream stream, string path)
    {
        Span<byte> head = stackalloc byte[LegacyMagic.Length];
        var n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n == head.Length && head.SequenceEqual(LegacyMagic))
            throw Fail(path, null, "the file was saved by torch < 1.6 (or with _use_new_zipfile_serialization=False) in the legacy format, " +
                                   "which this reader does not read; re-save it with torch.save(torch.load(path), path, _use_new_zipfile_serialization=True)");
    }

    /// <summary>data.pkl's folder; inline_container.cc takes the archive name from the first record, and so must every record have it.</summary>
    private static string FindPrefix(ZipArchive zip, string path)
    {
        var pickles = zip.Entries.Select(e => e.FullName).Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length).ToList();
        if (pickles.Count == 0)
        {
            var some = string.Join(", ", zip.Entries.Take(8).Select(e => e.FullName));
            throw Fail(path, null, $"the archive has no <name>/data.pkl record, so it was not written by torch.save (records: {(some.Length == 0 ? "none" : some)})");
        }
        if (pickles.Count > 1)
            throw Fail(path, null, $"the archive has {pickles.Count} data.pkl records ({string.Join(", ", pickles)}); torch.save writes one");
        return pickles[0][..^"/data.pkl".Length];
    }

    private void CheckByteOrder()
    {
        var record = $"{Prefix}/byteorder";
        if (zip.GetEntry(record) is null) return;
        var order = Encoding.ASCII.GetString(ReadAll(record)).Trim();
        if (order == "little") return;
        throw Fail(Source, record, order == "big"
            ? "the storages were written big-endian; this reader copies bytes as they are and reads little-endian checkpoints only"
            : $"byteorder is '{order}', neither 'little' nor 'big'");
    }

    /// <summary>The record's length as the zip directory gives it, or null when the archive lacks it.</summary>
    public long? Length(string record) => zip.GetEntry(record)?.Length;

    public byte[] ReadAll(string record)
    {
        var entry = Entry(record);
        if (entry.Length > Array.MaxLength)
            throw Fail(Source, record, $"the record holds {entry.Length} bytes, more than one .NET array holds");
        var bytes = new byte[entry.Length];
        using var stream = OpenEntry(entry);
        ReadExactly(stream, bytes, record);
        Finish(stream, record);
        return bytes;
    }

    /// <summary>Opens <paramref name="record"/> and skips its first <paramref name="skip"/> bytes.</summary>
    public Stream Open(string record, long skip)
    {
        var stream = OpenEntry(Entry(record));
        try
        {
            var scratch = new byte[Math.Min(skip, 1 << 20)];
            for (var left = skip; left > 0; left -= scratch.Length)
                ReadExactly(stream, scratch.AsSpan(0, (int)Math.Min(left, scratch.Length)), record);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="destination"/>; a short or corrupt record (bad CRC, bad deflate data) is a format error.</summary>
    public void ReadExactly(Stream stream, Span<byte> destination, string record)
    {
        try
        {
            stream.ReadExactly(destination);
        }
        catch (EndOfStreamException)
        {
            throw Fail(Source, record, "the record ends before the length the zip directory gives it (the archive is truncated or corrupt)");
        }
        catch (InvalidDataException e)
        {
            throw Fail(Source, record, $"the record cannot be read: {e.Message}");
        }
    }

    /// <summary>Reads the record to its end, where ZipArchive compares the CRC-32 the zip directory gives it.</summary>
    public void Finish(Stream stream, string record)
    {
        try
        {
            stream.CopyTo(Stream.Null);
        }
        catch (InvalidDataException e)
        {
            throw Fail(Source, record, $"the record is corrupt: {e.Message}");
        }
    }

    private ZipArchiveEntry Entry(string record) =>
        zip.GetEntry(record) ?? throw Fail(Source, record, "the archive lacks this record");

    private Stream OpenEntry(ZipArchiveEntry entry)
    {
        try
        {
            return entry.Open();
        }
        catch (InvalidDataException e)
        {
            throw Fail(Source, entry.FullName, $"the record cannot be opened: {e.Message}");
        }
    }

    private static TorchCheckpointFormatException Fail(string source, string? record, string rule) => new(source, record, null, null, rule);

    public void Dispose() => zip.Dispose();
}
