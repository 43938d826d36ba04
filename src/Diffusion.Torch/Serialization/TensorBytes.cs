using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch.Serialization;

/// <summary>Fills <paramref name="piece"/>, which starts <paramref name="offset"/> bytes into a tensor's storage.</summary>
internal delegate void FillPiece(Span<byte> piece, long offset);

/// <summary>
/// Raw little-endian bytes in and out of tensors, one copy each way. Callers have already checked
/// that byte counts match shape × element size; the shim checks again before every memcpy.
/// </summary>
internal static unsafe class TensorBytes
{
    /// <summary>Native reads and writes go in pieces that fit a span.</summary>
    private const int Chunk = 1 << 30;

    static TensorBytes()
    {
        // The format is little-endian and bytes are copied as they are.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors needs a little-endian machine");
    }

    /// <summary>A fresh CPU tensor holding a copy of <paramref name="bytes"/>.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        fixed (byte* p = bytes)
        fixed (long* s = shape)
            return Tensor.Wrap(dt_from_buffer(p, bytes.Length, s, shape.Length, (int)dtype, out var r), r,
                $"safetensors tensor ({bytes.Length} bytes into [{string.Join(", ", shape)}] {dtype.Name()})");
    }

    /// <summary>
    /// A fresh CPU tensor filled by <paramref name="fill"/>, which is handed the tensor's storage piece by
    /// piece with the piece's offset; no managed buffer in between.
    /// </summary>
    public static Tensor Fill(long[] shape, ScalarType dtype, long byteCount, FillPiece fill)
    {
        var t = torch.empty(shape, dtype);
        try
        {
            if (byteCount == 0) return t;
            var p = (byte*)DataPointer(t);
            for (long done = 0; done < byteCount;)
            {
                var n = (int)Math.Min(Chunk, byteCount - done);
                fill(new Span<byte>(p + done, n), done);
                done += n;
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Copies the tensor's elements in row-major order into <paramref name="destination"/> (any device or stride).</summary>
    public static void CopyTo(Tensor t, Span<byte> destination)
    {
        fixed (byte* p = destination)
            Tensor.Check(dt_to_buffer(t.Handle, p, destination.Length), "safetensors copy", t);
    }

    /// <summary>Writes the tensor's elements in row-major order to <paramref name="stream"/>, straight from native memory.</summary>
    public static void WriteTo(Tensor t, long byteCount, Stream stream)
    {
        if (byteCount == 0) return;
        // Aliases (no copy) when the tensor is already a contiguous CPU tensor.
        using var cpu = t.to(Device.CPU);
        using var contiguous = cpu.contiguous();
        if (contiguous.numel() * contiguous.dtype.ElementSize() != byteCount)
            throw new InvalidOperationException($"tensor {t.Describe()} does not hold the {byteCount} bytes planned for it");
        var p = (byte*)DataPointer(contiguous);
        for (long done = 0; done < byteCount;)
        {
            var n = (int)Math.Min(Chunk, byteCount - done);
            stream.Write(new ReadOnlySpan<byte>(p + done, n));
            done += n;
        }
    }

    private static IntPtr DataPointer(Tensor t)
    {
        Tensor.Check(dt_data_ptr(t.Handle, out var ptr), "data_ptr", t);
        return ptr;
    }
}
