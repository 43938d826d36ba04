using Diffusion.Tests;
using Diffusion.Training.Plots;
using Xunit;

namespace Diffusion.Training.Tests.Plots;

public class PngTests
{
    [Fact]
    public void Crc32_MatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Fact]
    public void Rgb_RoundTripsThroughADecoder()
    {
        const int w = 37, h = 11;
        var rgb = new byte[w * h * 3];
        new Random(1).NextBytes(rgb);
        var image = PngDecoder.Decode(Png.Encode(w, h, rgb));
        Assert.Equal((w, h, 8, 2), (image.Width, image.Height, image.BitDepth, image.ColourType));
        Assert.Equal(["IHDR", "IDAT", "IEND"], image.Chunks);
        Assert.Equal(rgb, image.Pixels);
    }

    [Fact]
    public void Gray_RoundTripsThroughADecoder()
    {
        const int w = 5, h = 300;
        var gray = Enumerable.Range(0, w * h).Select(i => (byte)(i * 7)).ToArray();
        var image = PngDecoder.Decode(Png.EncodeGray(w, h, gray));
        Assert.Equal((w, h, 8, 0), (image.Width, image.Height, image.BitDepth, image.ColourType));
        Assert.Equal(gray, image.Pixels);
    }

    [Fact]
    public void WrongBufferLength_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Png.Encode(4, 4, new byte[47]));
        Assert.Contains("48", e.Message);
    }

    [Fact]
    public void Write_ReplacesTheFileAndLeavesNoTempFiles()
    {
        var dir = Support.TempDir("png");
        var path = Path.Combine(dir, "sub", "a.png");
        Png.Write(path, 2, 2, new byte[12]);
        Png.Write(path, 3, 1, Enumerable.Repeat((byte)200, 9).ToArray());
        var image = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal((3, 1), (image.Width, image.Height));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    /// <summary>Independent check with Debian's python zlib (skipped, with the reason, where python3 is absent).</summary>
    [Python3Fact]
    public void PythonZlib_AcceptsTheStreamAndCrcs()
    {
        var dir = Support.TempDir("png-py");
        var path = Path.Combine(dir, "p.png");
        var rgb = Enumerable.Range(0, 6 * 4 * 3).Select(i => (byte)(i * 5)).ToArray();
        Png.Write(path, 6, 4, rgb);
        const string script = """
            import sys, zlib, struct
            b = open(sys.argv[1], 'rb').read()
            assert b[:8] == b'\x89PNG\r\n\x1a\n'
            p, data = 8, b''
            while p < len(b):
                n, = struct.unpack('>I', b[p:p+4]); t = b[p+4:p+8]; d = b[p+8:p+8+n]
                assert struct.unpack('>I', b[p+8+n:p+12+n])[0] == zlib.crc32(t + d) & 0xffffffff, t
                if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', d[:10])
                if t == b'IDAT': data += d
                p += 12 + n
            raw = zlib.decompress(data)
            rows = [raw[y*(w*3+1)+1:(y+1)*(w*3+1)] for y in range(h)]
            print(w, h, depth, ct, sum(sum(r) for r in rows))
            """;
        var psi = new System.Diagnostics.ProcessStartInfo(Preconditions.Python, ["-c", script, path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, stderr);
        Assert.Equal($"6 4 8 2 {rgb.Sum(b => (int)b)}", stdout.Trim());
    }
}
