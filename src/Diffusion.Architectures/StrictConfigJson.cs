using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Diffusion.Primitives;

namespace Diffusion.Architectures;

/// <summary>
/// Checks a model config's JSON against the serializer's own contract (<see cref="ModelConfig.Json"/>) before it is
/// deserialized, so that what System.Text.Json would skip or wrap is an error naming its JSON path: an unknown field
/// (with the nearest known name: <c>$.chanels: unknown field of a unet config; did you mean `channels`?</c>), a
/// missing or unknown <c>kind</c>, a value of the wrong JSON type, an integer that is fractional, written with an
/// exponent or outside 32 bits. Nested objects and arrays are walked the same way. The only fields tolerated beyond
/// the contract are the derived ones older versions wrote into checkpoints' model.json (<see cref="Legacy"/>).
/// </summary>
internal static class StrictConfigJson
{
    /// <summary>
    /// Get-only (derived) properties that model.json held before commit 80029ca made it settable-only (found with
    /// <c>git log -p</c> over the config records from a03edd7 on): ignored on read, never written.
    /// </summary>
    private static readonly Dictionary<string, string[]> Legacy = new()
    {
        ["mlp"] = ["input_shape", "time", "linear_layers"],
        ["dit"] = ["input_shape", "out_channels", "output_shape", "label_rows", "tokens", "grid", "frequency"],
        ["uvit"] = ["input_shape", "extras", "tokens"],
        ["unet"] = ["input_shape", "out", "temb_dim", "levels"],
    };

    private const string Kind = "kind";

    /// <summary>Every problem with <paramref name="node"/> as a <see cref="ModelConfig"/>, each "$.path: what" (empty when it can be read).</summary>
    public static List<string> Problems(JsonNode? node, JsonSerializerOptions options)
    {
        var problems = new List<string>();
        CheckPolymorphic(node, options.GetTypeInfo(typeof(ModelConfig)), "$", problems, options);
        return problems;
    }

    /// <summary>The same object with <c>kind</c> first, where System.Text.Json looks for a type discriminator.</summary>
    public static JsonObject KindFirst(JsonObject config)
    {
        var ordered = new JsonObject();
        if (config[Kind] is { } kind) ordered[Kind] = kind.DeepClone();
        foreach (var (key, value) in config)
            if (key != Kind) ordered[key] = value?.DeepClone();
        return ordered;
    }

    private static void CheckPolymorphic(JsonNode? node, JsonTypeInfo info, string path, List<string> problems, JsonSerializerOptions options)
    {
        var derived = info.PolymorphismOptions!.DerivedTypes.ToDictionary(d => (string)d.TypeDiscriminator!, d => d.DerivedType);
        if (node is not JsonObject obj)
        {
            problems.Add($"{path}: expected an object with a \"{Kind}\" ({string.Join(", ", derived.Keys)}), got {Describe(node)}");
            return;
        }
        if (obj[Kind] is not JsonValue kindValue || kindValue.GetValueKind() != JsonValueKind.String)
        {
            problems.Add($"{Child(path, Kind)}: missing or not a string; expected one of {string.Join(", ", derived.Keys)}");
            return;
        }
        var kind = kindValue.GetValue<string>();
        if (!derived.TryGetValue(kind, out var type))
        {
            problems.Add($"{Child(path, Kind)}: unknown kind '{kind}'{Spelling.Suggest(kind, derived.Keys)}; known: {string.Join(", ", derived.Keys)}");
            return;
        }
        CheckObject(obj, options.GetTypeInfo(type), path, $"{kind} config", Legacy.GetValueOrDefault(kind) ?? [], problems, options);
    }

    private static void CheckObject(JsonObject obj, JsonTypeInfo info, string path, string what, string[] legacy, List<string> problems,
        JsonSerializerOptions options)
    {
        var properties = info.Properties.ToDictionary(p => p.Name);
        foreach (var (key, value) in obj)
        {
            if (key == Kind && info.Type.IsAssignableTo(typeof(ModelConfig))) continue;
            if (properties.TryGetValue(key, out var property)) Check(value, property.PropertyType, Child(path, key), problems, options);
            else if (!legacy.Contains(key))
                problems.Add($"{Child(path, key)}: unknown field of a {what}{Spelling.Suggest(key, properties.Keys)}; known: {string.Join(", ", properties.Keys)}");
        }
    }

    private static void Check(JsonNode? node, Type type, string path, List<string> problems, JsonSerializerOptions options)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            if (node is not null) Check(node, underlying, path, problems, options);
            return;
        }
        var info = options.GetTypeInfo(type);
        if (info.PolymorphismOptions is not null)
        {
            CheckPolymorphic(node, info, path, problems, options);
            return;
        }
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                CheckObject(obj, info, path, type.Name, [], problems, options);
                return;
            case JsonTypeInfoKind.Object:
                problems.Add($"{path}: expected an object, got {Describe(node)}");
                return;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array:
                for (var i = 0; i < array.Count; i++) Check(array[i], info.ElementType!, $"{path}[{i}]", problems, options);
                return;
            case JsonTypeInfoKind.Enumerable:
                problems.Add($"{path}: expected an array, got {Describe(node)}");
                return;
        }
        if (Scalar(node, type) is { } problem) problems.Add($"{path}: {problem}");
    }

    /// <summary>Why <paramref name="node"/> is not a <paramref name="type"/> value, or null when it is (enums are left to their converter).</summary>
    private static string? Scalar(JsonNode? node, Type type)
    {
        var kind = node is JsonValue v ? v.GetValueKind() : node is null ? JsonValueKind.Null : node.GetValueKind();
        if (type == typeof(int) || type == typeof(long))
        {
            if (kind != JsonValueKind.Number) return $"expected an integer, got {Describe(node)}";
            var element = node!.GetValue<JsonElement>();
            var text = element.GetRawText();
            if (type == typeof(int) ? element.TryGetInt32(out _) : element.TryGetInt64(out _)) return null;
            var range = type == typeof(int) ? "32-bit integer range [-2147483648, 2147483647]" : "64-bit integer range";
            return text.Any(c => c is '.' or 'e' or 'E')
                ? $"expected an integer written in digits, got {text}"
                : $"{text} is outside the {range}";
        }
        if (type == typeof(double) || type == typeof(float))
            return kind == JsonValueKind.Number ? null : $"expected a number, got {Describe(node)}";
        if (type == typeof(bool))
            return kind is JsonValueKind.True or JsonValueKind.False ? null : $"expected true or false, got {Describe(node)}";
        if (type == typeof(string) || type.IsEnum)
            return kind == JsonValueKind.String ? null : $"expected a string, got {Describe(node)}";
        return null;
    }

    private static string Describe(JsonNode? node)
    {
        if (node is null) return "null";
        var text = node.ToJsonString();
        return text.Length <= 40 ? text : text[..37] + "…";
    }

    private static string Child(string path, string key) => $"{path}.{key}";
}
