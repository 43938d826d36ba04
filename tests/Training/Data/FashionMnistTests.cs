using System.Buffers.Binary;
using System.IO.Compression;
using Diffusion.Torch;
using Diffusion.Training.Data;
using Xunit;

namespace Diffusion.Training.Tests.Data;

public class FashionMnistTests
{
    [FashionMnistFact]
    public void LoadsTheDebianFiles()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var (train, n) in new[] { (true, 60_000L), (false, 10_000L) })
        {
            var (images, labels) = FashionMnist.Load(FashionMnist.DefaultDirectory, train);
            Assert.Equal([n, 1L, 28L, 28L], images.shape);
            Assert.Equal(ScalarType.Float32, images.dtype);
            Assert.Equal([n], labels.shape);
            Assert.Equal(ScalarType.Int64, labels.dtype);
            Assert.Equal(-1.0, images.min().item<double>());
            Assert.Equal(1.0, images.max().item<double>());
            Assert.Equal(0L, labels.min().item<long>());
            Assert.Equal(9L, labels.max().item<long>());
            // Balanced classes: n / 10 of each.
            var counts = labels.ToArray<long>().GroupBy(l => l).Select(g => g.Count()).ToArray();
            Assert.All(counts, c => Assert.Equal(n / 10, c));
        }
        Assert.Equal(10, FashionMnist.ClassNames.Length);
    }

    [Fact]
    public void ReadsUncompressedAndCompressedSyntheticFiles()
    {
        var dir = Support.TempDir("idx");
        WriteImages(Path.Combine(dir, "train-images-idx3-ubyte"), 3, 2, 4, gzip: false);
        WriteLabels(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), [0, 9, 4], gzip: true);
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.Load(dir);
        Assert.Equal([3L, 1L, 2L, 4L], images.shape);
        Assert.Equal([0L, 9L, 4L], labels.ToArray<long>());
        var px = images.flatten().ToArray<float>();
        Assert.Equal(-1f, px[0]);                  // byte 0
        Assert.Equal(1 / 127.5f - 1, px[1], 6);    // byte 1
    }

    [Fact]
    public void MissingFiles_SayHowToInstall()
    {
        var dir = Support.TempDir("idx-missing");
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(dir));
        Assert.Contains("sudo apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains(FashionMnist.DirectoryVariable, e.Message);
        Assert.Contains(dir, e.Message);
    }

    [Fact]
    public void EnvironmentVariable_OverridesTheDefaultDirectory()
    {
        var before = Environment.GetEnvironmentVariable(FashionMnist.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, "/some/where");
            Assert.Equal("/some/where", FashionMnist.ResolveDirectory());
            Assert.Equal("/explicit", FashionMnist.ResolveDirectory("/explicit"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, before);
        }
    }

    [Fact]
    public void BadMagic_NamesFileAndOffset()
    {
        var path = Path.Combine(Support.TempDir("idx-magic"), "x-images-idx3-ubyte");
        WriteImages(path, 1, 2, 2, gzip: false, magic: 0x00000801);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("bad magic number 0x00000801 at byte offset 0", e.Message);
    }

    [Fact]
    public void Truncated_NamesFileAndOffset()
    {
        var path = Path.Combine(Support.TempDir("idx-trunc"), "x-images-idx3-ubyte.gz");
        WriteImages(path, 5, 3, 3, gzip: true, dropBytes: 4);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated at byte offset 57", e.Message); // 16 + 45 − 4
        var header = Path.Combine(Path.GetDirectoryName(path)!, "short-labels");
        File.WriteAllBytes(header, [0, 0, 8, 1, 0]);
        Assert.Contains("truncated at byte offset 5", Assert.Throws<InvalidDataException>(() => FashionMnist.ReadLabels(header)).Message);
    }

    [Fact]
    public void WrongCounts_AreReported()
    {
        var dir = Support.TempDir("idx-count");
        // Trailing bytes: the header says 2 labels but 3 follow.
        var labels = Path.Combine(dir, "train-labels-idx1-ubyte");
        WriteLabels(labels, [1, 2, 3], gzip: false, count: 2);
        Assert.Contains("1 unexpected trailing bytes from byte offset 10", Assert.Throws<InvalidDataException>(() => FashionMnist.ReadLabels(labels)).Message);
        // Image and label files that disagree.
        WriteImages(Path.Combine(dir, "train-images-idx3-ubyte"), 4, 2, 2, gzip: false);
        WriteLabels(labels, [1, 2, 3], gzip: false);
        Assert.Contains("holds 3 labels but", Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir)).Message);
        // A label that is not a class index.
        WriteLabels(labels, [1, 12, 3], gzip: false);
        Assert.Contains("label 12 at byte offset 9", Assert.Throws<InvalidDataException>(() => FashionMnist.ReadLabels(labels)).Message);
    }

    private static void WriteImages(string path, int n, int rows, int cols, bool gzip, int magic = 0x00000803, int dropBytes = 0)
    {
        var bytes = new byte[16 + n * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (var i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i - 16);
        Write(path, bytes.AsSpan(0, bytes.Length - dropBytes).ToArray(), gzip);
    }

    private static void WriteLabels(string path, byte[] labels, bool gzip, int? count = null)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count ?? labels.Length);
        labels.CopyTo(bytes, 8);
        Write(path, bytes, gzip);
    }

    private static void Write(string path, byte[] bytes, bool gzip)
    {
        if (!gzip) { File.WriteAllBytes(path, bytes); return; }
        using var file = File.Create(path);
        using var z = new GZipStream(file, CompressionLevel.Fastest);
        z.Write(bytes);
    }
}

/// <summary>A fact that reads Debian's dataset-fashion-mnist files (bootstrap.sh installs them, so CI never skips it).</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    internal static readonly string[] Files =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    public FashionMnistFactAttribute()
    {
        var missing = Files.Where(f => !File.Exists(Path.Combine(FashionMnist.DefaultDirectory, f))).ToArray();
        if (missing.Length > 0)
            Skip = $"dataset-fashion-mnist is not installed ({string.Join(", ", missing)} missing from {FashionMnist.DefaultDirectory}; sudo apt-get install dataset-fashion-mnist)";
    }
}
