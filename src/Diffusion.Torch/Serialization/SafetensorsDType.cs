namespace Diffusion.Torch.Serialization;

/// <summary>The dtype names of the safetensors header and the element types they stand for.</summary>
internal static class SafetensorsDType
{
    private static readonly (string Name, ScalarType Type)[] Table =
    [
        ("F64", ScalarType.Float64),
        ("F32", ScalarType.Float32),
        ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64),
        ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16),
        ("I8", ScalarType.Int8),
        ("U8", ScalarType.UInt8),
        ("BOOL", ScalarType.Bool),
    ];

    public static string Supported => string.Join(", ", Table.Select(e => e.Name));

    public static bool TryParse(string name, out ScalarType type)
    {
        foreach (var (n, t) in Table)
        {
            // The format's names are upper case and compared exactly, as the reference implementation does.
            if (n == name)
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }

    public static string NameOf(ScalarType type)
    {
        foreach (var (n, t) in Table)
            if (t == type) return n;
        throw new NotSupportedException($"safetensors has no dtype for {type.Name()}");
    }
}
