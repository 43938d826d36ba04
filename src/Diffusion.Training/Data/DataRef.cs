using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.Training.Data;

/// <summary>
/// What a run trains on (<c>--data</c>, training.json's <c>data</c>): a data set by name, or a path — a directory of
/// Fashion-MNIST files or a .safetensors file. Written to JSON as the name or the path, as before.
/// </summary>
[JsonConverter(typeof(DataRefJsonConverter))]
public abstract record DataRef
{
    private DataRef() { }

    public sealed record Named(DataSet Set) : DataRef
    {
        public override string ToString() => DataSets.Names.Name(Set);
    }

    public sealed record Path(string Location) : DataRef
    {
        public override string ToString() => Location;
    }

    public static implicit operator DataRef(DataSet set) => new Named(set);

    /// <summary>A known name, else an existing directory or .safetensors file; otherwise an error naming <paramref name="where"/> and the known names.</summary>
    public static DataRef Parse(string text, string where)
    {
        if (DataSets.Names.TryParse(text, out var set)) return new Named(set);
        if (Directory.Exists(text) || (File.Exists(text) && text.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))) return new Path(text);
        throw new Names.UnknownNameException($"{DataSets.Names.Unknown(text, where)}, a Fashion-MNIST directory or a .safetensors file", where);
    }

    /// <summary>From JSON: a known name, else a path (not checked: a checkpoint may be read where its data is not).</summary>
    public static DataRef FromStored(string text) => DataSets.Names.TryParse(text, out var set) ? new Named(set) : new Path(text);
}

internal sealed class DataRefJsonConverter : JsonConverter<DataRef>
{
    public override DataRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String ? DataRef.FromStored(reader.GetString()!) : throw new JsonException($"expected a data set name ({DataSets.Names.Known}) or a path");

    public override void Write(Utf8JsonWriter writer, DataRef value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
