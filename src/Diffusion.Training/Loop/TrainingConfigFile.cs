using System.Text.Json;
using System.Text.Json.Nodes;

namespace Diffusion.Training.Loop;

/// <summary>
/// A training config file given to <c>diffusion train --config</c>: a training.json (all fields optional) laid over
/// the defaults. Unlike a checkpoint's training.json, which older versions wrote and which is read leniently, a file a
/// person wrote is read strictly: a field that is not a <see cref="TrainingConfig"/> setting is an error naming its
/// path, since a misspelt one would otherwise be silently ignored.
/// </summary>
public static class TrainingConfigFile
{
    /// <summary>The JSON names of the settings: every init-settable property of <see cref="TrainingConfig"/>, snake_case.</summary>
    public static IReadOnlyList<string> FieldNames { get; } = typeof(TrainingConfig).GetProperties()
        .Where(p => p.SetMethod is not null)
        .Select(p => TrainingConfig.Json.PropertyNamingPolicy!.ConvertName(p.Name)).ToArray();

    /// <summary>The config <paramref name="json"/> describes over <paramref name="defaults"/>, and the fields the file set.</summary>
    public static (TrainingConfig Config, IReadOnlySet<string> Given) Parse(string json, TrainingConfig defaults, string source)
    {
        JsonObject file;
        try
        {
            file = JsonNode.Parse(json) as JsonObject ?? throw new JsonException($"{source}: expected a JSON object of training settings");
        }
        catch (JsonException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw new JsonException($"{source}: {e.Message}", e);
        }
        var merged = JsonNode.Parse(defaults.ToJson())!.AsObject();
        foreach (var (key, value) in file)
        {
            if (!FieldNames.Contains(key))
                throw new JsonException($"{source} $.{key}: unknown training setting{Primitives.Spelling.Suggest(key, FieldNames)}; known: {string.Join(", ", FieldNames)}");
            merged[key] = value?.DeepClone();
        }
        return (TrainingConfig.FromJson(merged.ToJsonString(), source), file.Select(kv => kv.Key).ToHashSet());
    }
}
