using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Diffusion.Architectures;

/// <summary>
/// How a <see cref="ModelConfig"/> is written: only what a person sets (properties with a setter or init), never what
/// is derived from it (plans, shapes, counts), and enum values in the names a person would type. Generic on purpose:
/// config records gain and rename properties often, and no record has to be annotated for it.
/// </summary>
internal static class ConfigJson
{
    /// <summary>A contract modifier that drops get-only (computed) properties from every object contract.</summary>
    public static void SettableOnly(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
            if (info.Properties[i].Set is null) info.Properties.RemoveAt(i);
    }

    /// <summary>
    /// Enum member names as typed: words split only where a capitalised word starts, so acronyms stay whole —
    /// SiLU → silu, ReLU → relu, GELUTanh → gelu_tanh, ScaleShift → scale_shift, V → v.
    /// </summary>
    public static string EnumName(string member)
    {
        var words = new List<string>();
        var start = 0;
        for (var i = 1; i < member.Length; i++)
            if (char.IsUpper(member[i]) && i + 1 < member.Length && char.IsLower(member[i + 1]))
            {
                words.Add(member[start..i]);
                start = i;
            }
        words.Add(member[start..]);
        return string.Join('_', words.Select(w => w.ToLowerInvariant()));
    }
}

/// <summary>
/// Writes enum values as <see cref="ConfigJson.EnumName"/>; reads that name, the snake_case spelling older
/// checkpoints wrote (si_lu, re_lu) or the C# member name, case-insensitively. An unknown name lists the known ones.
/// </summary>
internal sealed class ConfigEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsEnum;

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(ConfigEnumConverter<>).MakeGenericType(type))!;

    private sealed class ConfigEnumConverter<T> : JsonConverter<T> where T : struct, Enum
    {
        private static readonly Dictionary<T, string> Names = Enum.GetValues<T>().ToDictionary(v => v, v => ConfigJson.EnumName(v.ToString()));

        private static readonly Dictionary<string, T> Spellings = Enum.GetValues<T>()
            .SelectMany(v => new[] { ConfigJson.EnumName(v.ToString()), JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), v.ToString() }
                .Distinct(StringComparer.OrdinalIgnoreCase).Select(s => (Spelling: s, Value: v)))
            .ToDictionary(p => p.Spelling, p => p.Value, StringComparer.OrdinalIgnoreCase);

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"expected a {typeof(T).Name} name");
            return Spellings.TryGetValue(text, out var value) ? value
                : throw new JsonException($"unknown {typeof(T).Name} '{text}'; known: {string.Join(", ", Names.Values)}");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Names[value]);
    }
}
