using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Diffusion.Tests;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.SafetensorsTestFiles;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>
/// The checkpoints of Fixtures/make_torch_checkpoints.py, written once per test class by Debian's PyTorch into a
/// scratch folder, on first use (so a class whose tests are all skipped never runs Python), and hand-made archives.
/// </summary>
public sealed class TorchCheckpointFiles : IDisposable
{
    private readonly ScratchDirectory dir = new();
    private readonly Lazy<string> written;

    public TorchCheckpointFiles()
    {
        Marker = Path.Combine(Path.GetTempPath(), $"pwned-{Guid.NewGuid():N}");
        written = new Lazy<string>(Write);
    }

    /// <summary>The file the malicious pickles would create if anything ran them.</summary>
    public string Marker { get; }

    public string Scratch => dir.Path;

    public string File(string name) => Path.Combine(written.Value, name);

    /// <summary>{tensor: (dtype, shape, hex of the contiguous bytes)} as PyTorch wrote it.</summary>
    public Dictionary<string, (string DType, long[] Shape, string Hex)> Expected(string name)
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(File(name + ".expected.json")));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (
            p.Value.GetProperty("dtype").GetString()!,
            p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            p.Value.GetProperty("hex").GetString()!));
    }

    private string Write()
    {
        var out_ = Path.Combine(dir.Path, "fixtures");
        Directory.CreateDirectory(out_);
        PythonProcess.Succeed(TimeSpan.FromMinutes(2), FixturePath("make_torch_checkpoints.py"), out_, Marker);
        return out_;
    }

    public void Dispose() => dir.Dispose();

    /// <summary>A stored (uncompressed) zip of the given records, as torch.save lays them out.</summary>
    public static byte[] Zip(params (string Name, byte[] Data)[] records)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in records)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return buffer.ToArray();
    }

    /// <summary>Every record of <paramref name="path"/>, for rewriting an archive with one changed.</summary>
    public static List<(string Name, byte[] Data)> Records(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.Select(e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return (e.FullName, m.ToArray());
        }).ToList();
    }

    /// <summary>data.pkl bytes from a readable spelling: text as is, \xNN escapes for bytes.</summary>
    public static byte[] Pickle(string text) => Encoding.Latin1.GetBytes(System.Text.RegularExpressions.Regex.Unescape(text));
}
