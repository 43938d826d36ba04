using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Diffusion.Training.Plots;

/// <summary>
/// A minimal PNG encoder (ISO/IEC 15948): 8-bit RGB or grayscale, no interlace, filter "None" on
/// every scanline, one IDAT chunk holding the zlib stream. Enough for plots and sample grids.
/// </summary>
public static class Png
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>An 8-bit RGB image: <paramref name="rgb"/> holds width·height·3 bytes, row-major.</summary>
    public static byte[] Encode(int width, int height, ReadOnlySpan<byte> rgb) => Encode(width, height, rgb, channels: 3);

    /// <summary>An 8-bit grayscale image: <paramref name="gray"/> holds width·height bytes, row-major.</summary>
    public static byte[] EncodeGray(int width, int height, ReadOnlySpan<byte> gray) => Encode(width, height, gray, channels: 1);

    /// <summary>Writes an RGB PNG atomically (temp file in the same folder, then rename).</summary>
    public static void Write(string path, int width, int height, ReadOnlySpan<byte> rgb) => WriteAtomically(path, Encode(width, height, rgb));

    /// <summary>Writes a grayscale PNG atomically.</summary>
    public static void WriteGray(string path, int width, int height, ReadOnlySpan<byte> gray) => WriteAtomically(path, EncodeGray(width, height, gray));

    private static byte[] Encode(int width, int height, ReadOnlySpan<byte> pixels, int channels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"PNG size must be positive, got {width}×{height}");
        var stride = width * channels;
        if (pixels.Length != (long)stride * height)
            throw new ArgumentException($"a {width}×{height} {(channels == 3 ? "RGB" : "grayscale")} image needs {(long)stride * height} bytes, got {pixels.Length}");

        using var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;                                  // bit depth
        ihdr[9] = (byte)(channels == 3 ? 2 : 0);      // colour type: truecolour or greyscale
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;     // deflate, adaptive filtering, no interlace
        WriteChunk(output, "IHDR", ihdr);

        using (var idat = new MemoryStream())
        {
            using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (var y = 0; y < height; y++)
                {
                    z.WriteByte(0); // filter type None
                    z.Write(pixels.Slice(y * stride, stride));
                }
            }
            WriteChunk(output, "IDAT", idat.GetBuffer().AsSpan(0, (int)idat.Length));
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        Encoding.ASCII.GetBytes(type, header[4..]);
        output.Write(header);
        output.Write(data);
        // The CRC covers the chunk type and data, not the length.
        var crc = Crc32.Update(Crc32.Update(Crc32.Initial, header[4..]), data) ^ 0xFFFFFFFFu;
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        output.Write(crcBytes);
    }

    /// <summary>Writes bytes to a temp file beside <paramref name="path"/> and renames it over the target.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as PNG and zlib's crc32 use.</summary>
public static class Crc32
{
    public const uint Initial = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>Feeds bytes into a running (pre-inverted) CRC; finish with ^ 0xFFFFFFFF.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(Initial, data) ^ 0xFFFFFFFFu;
}
