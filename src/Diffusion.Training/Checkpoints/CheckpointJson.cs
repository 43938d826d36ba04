using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Diffusion.Training.Checkpoints;

/// <summary>
/// Reads a JSON file of a checkpoint strictly: a field the type does not have is an error, and so is a field it would
/// write but the file lacks (found by writing the value read back out and comparing the two objects' keys, at every
/// depth) — nothing is defaulted silently. Errors are <see cref="InvalidDataException"/>s naming the file and the JSON path.
/// </summary>
public static class CheckpointJson
{
    private static readonly JsonSerializerOptions Strict = new(Loop.TrainingConfig.Json)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static T Read<T>(string json, string file) where T : class
    {
        JsonNode? given;
        T? value;
        try
        {
            given = JsonNode.Parse(json);
            value = JsonSerializer.Deserialize<T>(json, Strict);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException) // NotSupported: e.g. a polymorphic object without its $type
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
        if (value is null || given is not JsonObject) throw new InvalidDataException($"{file}: expected a JSON object");
        var missing = new List<string>();
        Missing(JsonNode.Parse(JsonSerializer.Serialize(value, Strict)), given, "$", missing);
        return missing.Count == 0 ? value
            : throw new InvalidDataException($"{file}: missing field{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} (a checkpoint's files hold every field)");
    }

    private static void Missing(JsonNode? written, JsonNode? given, string path, List<string> missing)
    {
        if (written is JsonObject w && given is JsonObject g)
        {
            foreach (var (key, value) in w)
                if (!g.TryGetPropertyValue(key, out var other)) missing.Add($"{path}.{key}");
                else Missing(value, other, $"{path}.{key}", missing);
        }
        else if (written is JsonArray wa && given is JsonArray ga)
            for (var i = 0; i < Math.Min(wa.Count, ga.Count); i++) Missing(wa[i], ga[i], $"{path}[{i}]", missing);
    }
}
