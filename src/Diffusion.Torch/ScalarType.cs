namespace Diffusion.Torch;

/// <summary>Element types, numbered as c10::ScalarType so codes cross the boundary unchanged.</summary>
public enum ScalarType
{
    UInt8 = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    Bool = 11,
    BFloat16 = 15,
}

public static class ScalarTypeExtensions
{
    public static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.UInt8 or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unsupported scalar type"),
    };

    public static bool IsFloatingPoint(this ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>PyTorch's spelling: float32, int64, bfloat16 …</summary>
    public static string Name(this ScalarType t) => t.ToString().ToLowerInvariant();

    /// <summary>The element type whose .NET representation is <typeparamref name="T"/>.</summary>
    public static ScalarType Of<T>() where T : unmanaged => default(T) switch
    {
        float => ScalarType.Float32,
        double => ScalarType.Float64,
        long => ScalarType.Int64,
        int => ScalarType.Int32,
        short => ScalarType.Int16,
        byte => ScalarType.UInt8,
        sbyte => ScalarType.Int8,
        bool => ScalarType.Bool,
        Half => ScalarType.Float16,
        BFloat16 => ScalarType.BFloat16,
        _ => throw new NotSupportedException($"no tensor element type for {typeof(T).Name}"),
    };
}

/// <summary>Storage for bfloat16 elements (the upper half of a float32); converts to and from float.</summary>
public readonly record struct BFloat16(ushort Bits)
{
    public static explicit operator float(BFloat16 b) => BitConverter.Int32BitsToSingle(b.Bits << 16);

    /// <summary>Round to nearest even, as libtorch does.</summary>
    public static explicit operator BFloat16(float f)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(f);
        if (float.IsNaN(f)) return new BFloat16(0x7FC0);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + rounding) >> 16));
    }
}
