using System.Buffers.Binary;
using System.IO.Compression;
using Diffusion.Torch;

namespace Diffusion.Training.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017) from IDX files — Debian's <c>dataset-fashion-mnist</c>
/// installs them gzip-compressed under /usr/share/datasets/fashion-mnist; uncompressed files
/// are accepted too. Images come back as (N, 1, 28, 28) float32 in [−1, 1], labels as (N) int64.
/// </summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "DIFFUSION_FASHION_MNIST";

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private const int ImagesMagic = 0x00000803, LabelsMagic = 0x00000801; // ubyte, 3 dims / 1 dim

    /// <summary>The folder used when none is given: $DIFFUSION_FASHION_MNIST, else the Debian path.</summary>
    public static string ResolveDirectory(string? directory = null) =>
        directory ?? (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } env ? env : DefaultDirectory);

    /// <summary>The training (60,000) or test (10,000) split.</summary>
    public static (Tensor Images, Tensor Labels) Load(string? directory = null, bool train = true)
    {
        var dir = ResolveDirectory(directory);
        var prefix = train ? "train" : "t10k";
        var imagesPath = Locate(dir, $"{prefix}-images-idx3-ubyte");
        var labelsPath = Locate(dir, $"{prefix}-labels-idx1-ubyte");
        var (pixels, n, rows, cols) = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Length != n)
            throw new InvalidDataException($"{labelsPath}: holds {labels.Length} labels but {imagesPath} holds {n} images");

        using var scope = torch.NewDisposeScope();
        var images = torch.tensor(pixels, [n, 1, rows, cols]).to(ScalarType.Float32).div(127.5).sub(1); // (N, 1, H, W) in [−1, 1]
        var labelTensor = torch.tensor(labels, [n]).to(ScalarType.Int64); // (N)
        return (scope.MoveToOuter(images), scope.MoveToOuter(labelTensor));
    }

    /// <summary>Reads an IDX3 ubyte image file: (pixels, count, rows, columns).</summary>
    public static (byte[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        var bytes = ReadIdx(path, ImagesMagic, 16, "IDX3", "images");
        var n = ReadCount(path, bytes, 4, "image count");
        var rows = ReadCount(path, bytes, 8, "row count");
        var cols = ReadCount(path, bytes, 12, "column count");
        if (rows == 0 || cols == 0) throw new InvalidDataException($"{path}: image size {rows}×{cols} at byte offset 8 is empty");
        var expected = 16 + (long)n * rows * cols;
        RequireExactLength(path, bytes, expected, $"{n} images of {rows}×{cols}");
        return (bytes.AsSpan(16).ToArray(), n, rows, cols);
    }

    /// <summary>Reads an IDX1 ubyte label file, checking every label is a class index 0…9.</summary>
    public static byte[] ReadLabels(string path)
    {
        var bytes = ReadIdx(path, LabelsMagic, 8, "IDX1", "labels");
        var n = ReadCount(path, bytes, 4, "label count");
        RequireExactLength(path, bytes, 8 + (long)n, $"{n} labels");
        var labels = bytes.AsSpan(8).ToArray();
        var bad = labels.AsSpan().IndexOfAnyExceptInRange((byte)0, (byte)(ClassNames.Length - 1));
        if (bad >= 0) throw new InvalidDataException($"{path}: label {labels[bad]} at byte offset {8 + bad} is not a class index 0…{ClassNames.Length - 1}");
        return labels;
    }

    /// <summary>The bytes of an IDX file, checked to hold its <paramref name="headerLength"/>-byte header and to start with <paramref name="magic"/>.</summary>
    private static byte[] ReadIdx(string path, int magic, int headerLength, string format, string contents)
    {
        var bytes = ReadMaybeGzip(path);
        RequireLength(path, bytes, headerLength, $"the {headerLength}-byte {format} header");
        var found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
            throw new InvalidDataException($"{path}: bad magic number 0x{found:X8} at byte offset 0, expected 0x{magic:X8} ({format} unsigned-byte {contents})");
        return bytes;
    }

    private static string Locate(string dir, string name)
    {
        foreach (var candidate in new[] { Path.Combine(dir, name + ".gz"), Path.Combine(dir, name) })
            if (File.Exists(candidate)) return candidate;
        throw new FileNotFoundException(
            $"Fashion-MNIST file {name}(.gz) not found in {dir}. " +
            $"`sudo apt-get install dataset-fashion-mnist` installs it under {DefaultDirectory}; " +
            $"to use another folder pass it explicitly or set {DirectoryVariable}.", Path.Combine(dir, name + ".gz"));
    }

    /// <summary>The file's bytes, inflated when it starts with the gzip magic 1F 8B.</summary>
    private static byte[] ReadMaybeGzip(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        var gz = file.Read(head) == 2 && head[0] == 0x1F && head[1] == 0x8B;
        file.Position = 0;
        if (!gz) return File.ReadAllBytes(path);
        using var unzip = new GZipStream(file, CompressionMode.Decompress);
        using var buffer = new MemoryStream(capacity: 48 << 20);
        try
        {
            unzip.CopyTo(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: corrupt gzip stream after {buffer.Length} decompressed bytes: {e.Message}", e);
        }
        return buffer.ToArray();
    }

    private static int ReadCount(string path, byte[] bytes, int offset, string what)
    {
        var v = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
        if (v < 0) throw new InvalidDataException($"{path}: {what} {v} at byte offset {offset} is negative");
        return v;
    }

    private static void RequireLength(string path, byte[] bytes, long length, string what)
    {
        if (bytes.Length < length)
            throw new InvalidDataException($"{path}: truncated at byte offset {bytes.Length}: {what} needs {length} bytes");
    }

    private static void RequireExactLength(string path, byte[] bytes, long expected, string what)
    {
        if (bytes.Length < expected)
            throw new InvalidDataException($"{path}: truncated at byte offset {bytes.Length}: the header announces {what}, which end at byte offset {expected}");
        if (bytes.Length > expected)
            throw new InvalidDataException($"{path}: {bytes.Length - expected} unexpected trailing bytes from byte offset {expected}: the header announces {what}");
    }
}
