using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Diffusion.Training.Plots;

namespace Diffusion.Training.Tests.Plots;

/// <summary>
/// A strict little PNG reader for tests: checks the signature, chunk order and every CRC,
/// reads IHDR, inflates IDAT and undoes filter type 0 (the only one the encoder writes).
/// </summary>
public static class PngDecoder
{
    public sealed record Image(int Width, int Height, int BitDepth, int ColourType, byte[] Pixels, string[] Chunks);

    public static Image Decode(byte[] png)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!png.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("bad PNG signature");
        var pos = 8;
        var chunks = new List<string>();
        int width = 0, height = 0, depth = 0, colour = 0;
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            if (crc != Crc32.Compute(png.AsSpan(pos + 4, length + 4))) throw new InvalidDataException($"bad CRC in {type}");
            chunks.Add(type);
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    depth = data[8];
                    colour = data[9];
                    if (data[10] != 0 || data[11] != 0 || data[12] != 0) throw new InvalidDataException("unexpected compression/filter/interlace");
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
            }
            pos += 12 + length;
        }
        if (chunks[0] != "IHDR" || chunks[^1] != "IEND") throw new InvalidDataException("chunk order");
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var channels = colour == 2 ? 3 : 1;
        var stride = width * channels;
        var bytes = raw.ToArray();
        if (bytes.Length != (stride + 1) * height) throw new InvalidDataException($"inflated {bytes.Length} bytes, expected {(stride + 1) * height}");
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            if (bytes[y * (stride + 1)] != 0) throw new InvalidDataException("unexpected filter type");
            Array.Copy(bytes, y * (stride + 1) + 1, pixels, y * stride, stride);
        }
        return new Image(width, height, depth, colour, pixels, chunks.ToArray());
    }
}
