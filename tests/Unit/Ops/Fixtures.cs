using System.Text.Json;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>One case of Fixtures/ops.json (written by Fixtures/make_op_fixtures.py with PyTorch 1.13).</summary>
public sealed record FixtureCase(string Name, string Op, JsonElement Args, FixtureTensor[] Inputs, FixtureTensor Expected)
{
    public bool Has(string key) => Args.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public long Long(string key, long fallback = 0) => Has(key) ? Args.GetProperty(key).GetInt64() : fallback;

    public long? LongOrNull(string key) => Has(key) ? Args.GetProperty(key).GetInt64() : null;

    public double Double(string key, double fallback = 0) => Has(key) ? Args.GetProperty(key).GetDouble() : fallback;

    public bool Bool(string key, bool fallback = false) => Has(key) ? Args.GetProperty(key).GetBoolean() : fallback;

    public string Str(string key, string fallback = "") => Has(key) ? Args.GetProperty(key).GetString()! : fallback;

    public long[] Longs(string key) => Args.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>A scalar argument with its kind kept ("int" → int64 Scalar, else double), as Python's 2 vs 2.5.</summary>
    public Scalar ScalarArg(string key) =>
        Str("kind") == "int" ? (Scalar)Args.GetProperty(key).GetInt64() : (Scalar)Args.GetProperty(key).GetDouble();

    public ScalarType DType(string key = "dtype") => FixtureTensor.ParseDType(Str(key));

    public override string ToString() => Name;
}

/// <summary>A tensor written as {shape, dtype, data} with the data flat in row-major order.</summary>
public sealed record FixtureTensor(long[] Shape, string DType, JsonElement Data)
{
    public static ScalarType ParseDType(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "float64" => ScalarType.Float64,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        "int64" => ScalarType.Int64,
        "bool" => ScalarType.Bool,
        _ => throw new NotSupportedException($"fixture dtype '{name}'"),
    };

    public ScalarType Type => ParseDType(DType);

    /// <summary>Builds the tensor; float32 values are parsed as float32 so they are bit-exact.</summary>
    public Tensor ToTensor()
    {
        var items = Data.EnumerateArray().ToArray();
        return Type switch
        {
            ScalarType.Float32 => torch.tensor(items.Select(e => e.GetSingle()).ToArray(), Shape),
            ScalarType.Float64 => torch.tensor(items.Select(e => e.GetDouble()).ToArray(), Shape),
            ScalarType.Float16 => torch.tensor(items.Select(e => (Half)e.GetSingle()).ToArray(), Shape),
            ScalarType.BFloat16 => torch.tensor(items.Select(e => (BFloat16)e.GetSingle()).ToArray(), Shape),
            ScalarType.Int64 => torch.tensor(items.Select(e => e.GetInt64()).ToArray(), Shape),
            ScalarType.Bool => torch.tensor(items.Select(e => e.GetInt64() != 0).ToArray(), Shape),
            _ => throw new NotSupportedException(DType),
        };
    }

    /// <summary>The values as doubles (exact for every fixture dtype).</summary>
    public double[] Values => Type switch
    {
        ScalarType.Float32 or ScalarType.BFloat16 => Data.EnumerateArray().Select(e => (double)e.GetSingle()).ToArray(),
        ScalarType.Float16 => Data.EnumerateArray().Select(e => (double)(Half)e.GetSingle()).ToArray(),
        _ => Data.EnumerateArray().Select(e => e.GetDouble()).ToArray(),
    };
}

public static class Fixtures
{
    private static readonly Lazy<Dictionary<string, FixtureCase>> cases = new(Load);

    public static IReadOnlyDictionary<string, FixtureCase> Cases => cases.Value;

    private static Dictionary<string, FixtureCase> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ops.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var list = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(e => new FixtureCase(
                e.GetProperty("name").GetString()!,
                e.GetProperty("op").GetString()!,
                e.GetProperty("args").Clone(),
                e.GetProperty("inputs").EnumerateArray().Select(ReadTensor).ToArray(),
                ReadTensor(e.GetProperty("expected"))))
            .ToList();
        return list.ToDictionary(c => c.Name);
    }

    private static FixtureTensor ReadTensor(JsonElement e) => new(
        e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(),
        e.GetProperty("dtype").GetString()!,
        e.GetProperty("data").Clone());
}
