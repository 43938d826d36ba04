using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Training.Loop;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Training.Tests.Checkpoints;

/// <summary>
/// Model configs are read strictly: an unknown field (nested ones included) is an error with its JSON path and the nearest
/// known name, integer fields reject fractions, exponents and overflow, sizes are checked against <see cref="Limits"/>
/// before any arithmetic — and the derived fields older versions wrote still load.
/// </summary>
public class StrictModelJsonTests
{
    private static string Mutate(ModelConfig config, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(config.ToJson())!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    private static IReadOnlyList<string> Problems(string json) => Assert.Throws<ConfigException>(() => ModelConfig.FromJson(json, "m.json")).Problems;

    [Fact]
    public void A_misspelt_field_is_an_error_with_its_path_and_a_suggestion()
    {
        var json = Mutate(UNetPresets.UNet28, o => { o["chanels"] = 64; o.Remove("channels"); });
        var problem = Assert.Single(Problems(json));
        Assert.StartsWith("m.json $.chanels: unknown field of a unet config; did you mean `channels`?", problem);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_path_including_array_elements()
    {
        var json = Mutate(UNetPresets.UNet28, o =>
        {
            o["channel_mult"] = new JsonArray(1, "two", 2.5);
            o["num_res_blocks"] = JsonNode.Parse("1e9");
            o["channels"] = 2147483648;
            o["mid_attention"] = "yes";
            o["hidden"] = 3;
        });
        var problems = Problems(json);
        Assert.Contains(problems, p => p.StartsWith("m.json $.channel_mult[1]: expected an integer, got \"two\""));
        Assert.Contains(problems, p => p.StartsWith("m.json $.channel_mult[2]: expected an integer written in digits, got 2.5"));
        Assert.Contains(problems, p => p.StartsWith("m.json $.num_res_blocks: expected an integer written in digits"));
        Assert.Contains(problems, p => p.StartsWith("m.json $.channels: 2147483648 is outside the 32-bit integer range"));
        Assert.Contains(problems, p => p.StartsWith("m.json $.mid_attention: expected true or false"));
        Assert.Contains(problems, p => p.StartsWith("m.json $.hidden: unknown field"));
        Assert.Equal(6, problems.Count);
    }

    [Fact]
    public void A_missing_or_unknown_kind_names_the_known_ones()
    {
        Assert.Contains("$.kind: unknown kind 'unte'; did you mean `unet`?", Assert.Single(Problems("""{ "kind": "unte" }""")));
        Assert.Contains("$.kind: missing", Assert.Single(Problems("""{ "channels": 3 }""")));
        Assert.Contains("$: expected an object", Assert.Single(Problems("[1, 2]")));
        var malformed = Assert.Throws<JsonException>(() => ModelConfig.FromJson("{ \"kind\": ", "m.json"));
        Assert.StartsWith("m.json: ", malformed.Message);
    }

    [Fact]
    public void Kind_may_come_anywhere_in_the_object()
    {
        var json = """{ "hidden": 64, "kind": "mlp" }""";
        Assert.Equal(new MlpConfig(Hidden: 64), ModelConfig.FromJson(json));
    }

    /// <summary>The derived fields each config record had before 80029ca (git log -p over the records), as old checkpoints hold them.</summary>
    [Theory]
    [InlineData("mlp", """{ "input_shape": [2], "time": { "dim": 32 }, "linear_layers": [] }""")]
    [InlineData("dit", """{ "input_shape": [4, 32, 32], "out_channels": 8, "output_shape": [8, 32, 32], "label_rows": 1001, "tokens": 256, "grid": {}, "frequency": {} }""")]
    [InlineData("uvit", """{ "input_shape": [3, 32, 32], "extras": 1, "tokens": 257 }""")]
    [InlineData("unet", """{ "input_shape": [3, 32, 32], "out": 3, "temb_dim": 512, "levels": 4 }""")]
    public void The_derived_fields_older_versions_wrote_still_load(string kind, string derived)
    {
        ModelConfig config = kind switch { "mlp" => new MlpConfig(), "dit" => new DiTConfig(), "uvit" => new UViTConfig(), _ => new UNetConfig() };
        var json = Mutate(config, o => { foreach (var (k, v) in JsonNode.Parse(derived)!.AsObject()) o[k] = v?.DeepClone(); });
        Assert.Equal(config.ToJson(), ModelConfig.FromJson(json).ToJson());
        // …but only for the kind that wrote them.
        if (kind != "unet") Assert.Contains("$.temb_dim: unknown field", Assert.Single(Problems(Mutate(config, o => o["temb_dim"] = 1))));
    }

    [Theory]
    [InlineData("""{ "kind": "unet", "num_res_blocks": 1000000000 }""", "num_res_blocks=1000000000 exceeds the limit")]
    [InlineData("""{ "kind": "unet", "channels": 1000000000 }""", "channels=1000000000 exceeds the limit")]
    [InlineData("""{ "kind": "unet", "size": [100000, 100000] }""", "size[0]=100000 exceeds the limit")]
    [InlineData("""{ "kind": "dit", "depth": 1000000000 }""", "depth=1000000000 exceeds the limit")]
    [InlineData("""{ "kind": "uvit", "depth": 2000000000 }""", "depth=2000000000 exceeds the limit")]
    [InlineData("""{ "kind": "mlp", "depth": 2147483647 }""", "depth=2147483647 exceeds the limit")]
    [InlineData("""{ "kind": "uvit", "depth": -2 }""", "depth=-2 must be even and ≥ 0")]
    public void Absurd_sizes_are_refused_quickly_in_bounded_memory(string json, string expected)
    {
        var config = ModelConfig.FromJson(json);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var problems = config.Check();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"Check() took {clock.Elapsed}");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "Check() allocated more than 64 MiB");
        Assert.Contains(problems, p => p.Contains(expected));
        Assert.Throws<ConfigException>(() => ModelSummary.Of(config));
    }

    [Fact]
    public void A_config_within_every_limit_whose_total_count_overflows_is_an_error_not_a_wrapped_number()
    {
        // 16 levels × 1,024 ResBlocks of 8,192 channels on a 2¹²-element-per-level stand-in: each layer's count fits, the sum does not.
        var config = new UNetConfig
        {
            InChannels = 1, Size = [4096, 4096], Channels = 8192, ChannelMult = [1, 1], NumResBlocks = 1024, AttentionResolutions = [4096], NormGroups = 32, TimeEmbedMult = 1,
        };
        var clock = Stopwatch.StartNew();
        var problems = config.Check();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"Check() took {clock.Elapsed}");
        Assert.Contains(problems, p => p.Contains("exceeds 2⁶³"));
    }

    /// <summary>
    /// Random mutations of valid model and training JSON (a field dropped, renamed, retyped, set to an extreme number, nested
    /// in an object or array, or duplicated under a near name) either parse or fail with an error naming a JSON path —
    /// never another exception — within a time and allocation bound per case.
    /// </summary>
    [Fact]
    public void Fuzzed_configs_parse_or_fail_naming_a_path()
    {
        string[] models = [.. new[] { "mlp-seed", "unet28", "dit28", "uvit-small", "unet3d32" }.Select(n => Presets.Get(n).ToJson())];
        var training = new TrainingConfig().ToJson();
        JsonNode?[] values = [null, true, "text", 0, -1, 1e9, 2147483648, -2147483649, 1.5, 1e308, new JsonArray(), new JsonObject(), new JsonArray(1, 2), 1000000000];
        var mutation =
            from doc in Gen.Choose(0, models.Length)                               // models.Length: the training config
            from op in Gen.Choose(0, 4)
            from field in Gen.Choose(0, 100)
            from value in Gen.Elements(values)
            from letter in Gen.Choose('a', 'z')
            select (doc, op, field, value, letter);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(mutation.ToArbitrary(), m =>
        {
            var isTraining = m.doc == models.Length;
            var node = JsonNode.Parse(isTraining ? training : models[m.doc])!.AsObject();
            var keys = node.Select(kv => kv.Key).ToArray();
            var key = keys[m.field % keys.Length];
            switch (m.op)
            {
                case 0: node.Remove(key); break;
                case 1: node[key] = m.value?.DeepClone(); break;
                case 2: node[key.Insert(m.field % key.Length, m.letter.ToString())] = node[key]?.DeepClone(); node.Remove(key); break;
                case 3: node[key] = new JsonArray(m.value?.DeepClone()); break;
                default: node[key] = new JsonObject { [key] = m.value?.DeepClone() }; break;
            }
            var text = node.ToJsonString();
            var before = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                if (isTraining) TrainingConfigFile.Parse(text, new TrainingConfig(), "t.json");
                else ModelConfig.FromJson(text, "m.json").Check();
            }
            catch (Exception e) when (e is JsonException or ConfigException)
            {
                Assert.True(e.Message.Contains("$") || e.Message.Contains(".json:"), $"no path in: {e.Message}\nfor {text}");
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{clock.Elapsed} for {text}");
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256 << 20, $"over 256 MiB allocated for {text}");
        }));
    }
}
