using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Xunit;

namespace Diffusion.Training.Tests.Checkpoints;

/// <summary>
/// A checkpoint's model.json holds the config and nothing derived from it, in names a person would type, and reads
/// back to the same config — including the snake_case enum spellings older checkpoints wrote (si_lu).
/// </summary>
public class ModelJsonTests
{
    public static TheoryData<string> PresetNames => new(Presets.Names.Order());

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void A_preset_round_trips_and_its_json_holds_only_settable_properties(string name)
    {
        var config = Presets.Get(name);
        var json = config.ToJson();
        var back = ModelConfig.FromJson(json);
        Assert.Equal(config, back);
        Assert.Equal(json, back.ToJson());

        var keys = JsonNode.Parse(json)!.AsObject().Select(p => p.Key).ToHashSet();
        var settable = config.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).Append("kind").ToHashSet();
        Assert.Equal(settable.Order(), keys.Order());
    }

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void No_key_or_value_is_a_mangled_acronym(string name)
    {
        var json = Presets.Get(name).ToJson();
        foreach (var mangled in new[] { "si_lu", "re_lu", "ge_lu", "gelu_t_anh" }) Assert.DoesNotContain(mangled, json);
    }

    [Theory]
    [InlineData(Activation.SiLU, "silu")]
    [InlineData(Activation.GELU, "gelu")]
    [InlineData(Activation.GELUTanh, "gelu_tanh")]
    [InlineData(Activation.ReLU, "relu")]
    public void Activations_are_written_as_typed_and_read_back(Activation activation, string typed)
    {
        var config = new MlpConfig() with { Activation = activation };
        var json = config.ToJson();
        Assert.Contains($"\"activation\": \"{typed}\"", json);
        Assert.Equal(config, ModelConfig.FromJson(json));
    }

    [Fact]
    public void Prediction_targets_are_written_as_typed()
    {
        Assert.Contains("\"target\": \"noise\"", new MlpConfig().ToJson());
        Assert.Contains("\"target\": \"v\"", (new MlpConfig() with { Target = PredictionTarget.V }).ToJson());
    }

    [Fact]
    public void An_old_model_json_with_derived_fields_and_si_lu_still_loads()
    {
        // As a checkpoint written before model.json held settable properties only.
        const string old = """
            {
              "kind": "mlp",
              "data_dim": 2,
              "hidden": 128,
              "time_dim": 32,
              "depth": 3,
              "activation": "si_lu",
              "target": "noise",
              "input_shape": [2],
              "time": { "dim": 32 },
              "linear_layers": [ { "in_features": 34, "out_features": 128, "parameter_count": 4480 } ]
            }
            """;
        Assert.Equal(new MlpConfig(), ModelConfig.FromJson(old));
    }

    [Fact]
    public void An_unknown_enum_value_lists_the_known_names()
    {
        var json = new MlpConfig().ToJson().Replace("\"silu\"", "\"swish\"");
        var e = Assert.Throws<JsonException>(() => ModelConfig.FromJson(json));
        Assert.Contains("'swish'", e.Message);
        foreach (var known in new[] { "silu", "gelu", "gelu_tanh", "relu" }) Assert.Contains(known, e.Message);
    }
}
