using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Tests;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Import;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Diffusion.Training.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Import;

/// <summary>
/// <c>diffusion import diffusers</c> against Fixtures/make_diffusers_unet.py: a diffusers pipeline folder (unet/config.json in
/// diffusers' own keys, random weights under diffusers' names, scheduler/scheduler_config.json) and the reference model's output
/// (the transcription of UNet2DModel in tests/Property/Fixtures/parity). The imported run must reproduce that output to 1e-5.
/// </summary>
public sealed class DiffusersImportTests(ITestOutputHelper output)
{
    private static string Script => Path.Combine(AppContext.BaseDirectory, "Fixtures", "make_diffusers_unet.py");

    /// <summary>Writes the fixture folder of a case ("ddpm": google/ddpm-cifar10-32's settings; "defaults": UNet2DModel's).</summary>
    internal static string Fixture(string name)
    {
        var dir = Support.TempDir("diffusers-" + name);
        PythonProcess.Succeed(TimeSpan.FromMinutes(5), Script, dir, name);
        return dir;
    }

    private static float[] Floats(Tensor t) => t.to(ScalarType.Float32).contiguous().ToArray<float>();

    private double ImportedError(string fixture, string runDir)
    {
        var checkpoint = Checkpoint.Find(runDir) ?? throw new DirectoryNotFoundException(runDir);
        using var scope = torch.NewDisposeScope();
        using var model = Checkpoint.LoadModel(checkpoint);
        var inputs = Safetensors.Load(Path.Combine(fixture, "inputs.safetensors"));
        var theirs = Safetensors.Load(Path.Combine(fixture, "outputs.safetensors"))["y"];
        using var noGrad = torch.no_grad();
        var ours = model.Forward(inputs["x"], inputs["t"]);
        Assert.Equal(theirs.shape, ours.shape);
        var worst = RelativeError.Max(Floats(ours), Floats(theirs));
        output.WriteLine($"{fixture}: max |ours - theirs| / (|theirs| + rms(theirs)) = {worst:E3} over {theirs.numel()} elements");
        return worst;
    }

    [PythonTorchTheory]
    [InlineData("ddpm")]
    [InlineData("defaults")]
    public void The_imported_run_reproduces_the_diffusers_model(string name)
    {
        var fixture = Fixture(name);
        var run = Path.Combine(fixture, "run");
        using (var imported = DiffusersUNet.Read(fixture))
        {
            var u = Assert.IsType<UNetConfig>(imported.Model);
            Assert.Equal([16, 16], u.Size);
            Assert.Equal(32, u.Channels);
            Assert.Equal([1, 2], u.ChannelMult);
            Assert.Equal([8], u.AttentionResolutions);
            Assert.True(u.MidAttention);
            Assert.Equal(8, u.NormGroups);
            Assert.Equal(0, u.Dropout);
            Assert.Equal(PredictionTarget.Noise, u.Target);
            Assert.Equal(ProcessKind.Ddpm, imported.Training.Sde);
            Assert.Equal(BetaSchedule.Linear, imported.Training.Schedule);
            if (name == "ddpm")
            {
                Assert.Equal((2, 1, false, 1.0, DownsamplePadding.Same, 1e-6), (u.NumResBlocks, u.AttentionHeads, u.FlipSinToCos, u.FreqShift, u.DownsamplePadding, u.NormEps));
                Assert.Equal(208, imported.Weights.Count);
            }
            else Assert.Equal((1, 2, true, 0.0, DownsamplePadding.Symmetric, 1e-5), (u.NumResBlocks, u.AttentionHeads, u.FlipSinToCos, u.FreqShift, u.DownsamplePadding, u.NormEps));
            Checkpoint.SaveImported(run, imported.Model, imported.Training, imported.Weights, imported.Source);
        }
        foreach (var file in new[] { "model.json", "training.json", "state.json", "model.safetensors", "ema.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, "step-000000", file)), file);
        Assert.Equal("step-000000", File.ReadAllText(Path.Combine(run, Checkpoint.Latest)).Trim());
        Assert.True(ImportedError(fixture, run) <= RelativeError.Tolerance);
    }

    [PythonTorchFact]
    public void The_cli_imports_a_run_that_sample_reads()
    {
        var fixture = Fixture("defaults");
        var run = Path.Combine(fixture, "cli-run");
        var import = CliRunner.Run("import", "diffusers", Path.Combine(fixture, "unet"), "--out", run, "--json");
        output.WriteLine(import.Stdout + import.Stderr);
        Assert.True(import.ExitCode == 0, import.Stderr);
        Assert.Contains("parameters", import.Stdout);
        var json = JsonNode.Parse(import.Stdout.TrimEnd().Split('\n')[^1])!;
        Assert.True(json["ok"]!.GetValue<bool>());
        Assert.True(json["parameters"]!.GetValue<long>() > 0);
        Assert.True(ImportedError(fixture, run) <= RelativeError.Tolerance);

        var sample = CliRunner.Run("sample", "--checkpoint", run, "--sampler", "ddim", "--steps", "5", "--n", "2", "--json");
        output.WriteLine(sample.Stdout + sample.Stderr);
        Assert.True(sample.ExitCode == 0, sample.Stderr);

        // The same sampling in-process: finite samples of the model's shape.
        var checkpoint = Checkpoint.Find(run)!;
        using var scope = torch.NewDisposeScope();
        using var model = Checkpoint.LoadModel(checkpoint);
        var process = Checkpoint.ReadTrainingConfig(checkpoint).Process;
        using var g = new Generator(0);
        using var result = Samplers.Run(SamplerKind.Ddim, process, ModelFunctions.Network(model), Predictions.From(model.Target), [2, 3, 16, 16], 5, g);
        Assert.Equal([2L, 3, 16, 16], result.Samples.shape);
        Assert.True(result.Samples.isfinite().all().item<bool>(), "non-finite samples");
    }

    [PythonTorchFact]
    public void A_missing_or_misshaped_tensor_is_named()
    {
        var fixture = Fixture("ddpm");
        var weights = Path.Combine(fixture, "unet", DiffusersUNet.WeightsFile);
        using (var scope = torch.NewDisposeScope())
        {
            var tensors = Safetensors.Load(weights);
            tensors.Remove("mid_block.attentions.0.to_q.bias");
            tensors["conv_in.bias"] = torch.zeros([5]);
            tensors["extra.weight"] = torch.zeros([1]);
            Safetensors.Save(weights, tensors);
        }
        var e = Assert.Throws<InvalidDataException>(() => DiffusersUNet.Read(fixture).Dispose());
        output.WriteLine(e.Message);
        Assert.Contains("missing 'mid_block.attentions.0.to_q.bias'", e.Message);
        Assert.Contains("'conv_in.bias' has shape [5], expected [32]", e.Message);
        Assert.Contains("unexpected 'extra.weight'", e.Message);
    }

    /// <summary>google/ddpm-cifar10-32's config.json, shrunk (the fixture script's "ddpm" case without running python).</summary>
    private static JsonObject DdpmConfig() => new()
    {
        ["_class_name"] = "UNet2DModel", ["_diffusers_version"] = "0.0.4", ["act_fn"] = "silu", ["attention_head_dim"] = null,
        ["block_out_channels"] = new JsonArray(32, 64), ["center_input_sample"] = false,
        ["down_block_types"] = new JsonArray("DownBlock2D", "AttnDownBlock2D"), ["downsample_padding"] = 0, ["flip_sin_to_cos"] = false,
        ["freq_shift"] = 1, ["in_channels"] = 3, ["layers_per_block"] = 2, ["mid_block_scale_factor"] = 1, ["norm_eps"] = 1e-6,
        ["norm_num_groups"] = 8, ["out_channels"] = 3, ["sample_size"] = 16, ["time_embedding_type"] = "positional",
        ["up_block_types"] = new JsonArray("AttnUpBlock2D", "UpBlock2D"),
    };

    [Fact]
    public void The_ddpm_config_maps_without_python()
    {
        var u = DiffusersUNet.MapConfig(DdpmConfig());
        Assert.Equal([8], u.AttentionResolutions);
        Assert.Equal((1, false, 1.0, DownsamplePadding.Same), (u.AttentionHeads, u.FlipSinToCos, u.FreqShift, u.DownsamplePadding));
        Assert.Empty(u.Check());
    }

    public static TheoryData<string, string, string> Unrepresentable => new()
    {
        { "resnet_time_scale_shift", "\"scale_shift\"", "resnet_time_scale_shift: \"scale_shift\"" },
        { "act_fn", "\"gelu\"", "act_fn: \"gelu\"" },
        { "my_new_setting", "3", "my_new_setting: 3 (unknown" },
        { "center_input_sample", "true", "center_input_sample: true" },
        { "time_embedding_type", "\"fourier\"", "time_embedding_type: \"fourier\"" },
        { "num_class_embeds", "10", "num_class_embeds: 10" },
        { "attention_head_dim", "16", "attention_head_dim: 16 (gives 4, 8 heads" },
        { "attention_head_dim", "32", "attention_head_dim: 32 (gives 2, 4 heads" },
        { "_class_name", "\"UNet2DConditionModel\"", "_class_name: \"UNet2DConditionModel\"" },
        { "downsample_padding", "2", "downsample_padding: 2" },
        { "block_out_channels", "[32, 48]", "block_out_channels: [32,48]" },
    };

    [Theory]
    [MemberData(nameof(Unrepresentable))]
    public void An_unrepresentable_setting_is_listed_with_its_value(string key, string value, string expected)
    {
        var config = DdpmConfig();
        config[key] = JsonNode.Parse(value);
        if (value is "16" or "32")
        {
            // With [32, 64] the attention level and the middle both have 64 channels (one head count); a third level makes the middle wider.
            config["block_out_channels"] = new JsonArray(32, 64, 128);
            config["down_block_types"] = new JsonArray("DownBlock2D", "AttnDownBlock2D", "DownBlock2D");
            config["up_block_types"] = new JsonArray("UpBlock2D", "AttnUpBlock2D", "UpBlock2D");
        }
        var e = Assert.Throws<UnrepresentableException>(() => DiffusersUNet.MapConfig(config));
        output.WriteLine(e.Message);
        var problem = Assert.Single(e.Problems);
        Assert.StartsWith(expected, problem);
    }

    [Fact]
    public void Every_unrepresentable_setting_is_listed_at_once()
    {
        var config = DdpmConfig();
        config["resnet_time_scale_shift"] = "scale_shift";
        config["act_fn"] = "gelu";
        config["unknown_key"] = true;
        config["center_input_sample"] = true;
        var e = Assert.Throws<UnrepresentableException>(() => DiffusersUNet.MapConfig(config));
        output.WriteLine(e.Message);
        Assert.Equal(["act_fn", "center_input_sample", "resnet_time_scale_shift", "unknown_key"],
            e.Problems.Select(p => p[..p.IndexOf(':')]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Attention_head_dim_giving_one_head_count_maps_to_it()
    {
        var config = DdpmConfig();
        config["attention_head_dim"] = 16;
        Assert.Equal(4, DiffusersUNet.MapConfig(config).AttentionHeads);
    }

    [Fact]
    public void A_mismatched_up_list_is_refused()
    {
        var config = DdpmConfig();
        config["up_block_types"] = new JsonArray("UpBlock2D", "AttnUpBlock2D");
        var e = Assert.Throws<UnrepresentableException>(() => DiffusersUNet.MapConfig(config));
        Assert.Equal(2, e.Problems.Count);
        Assert.All(e.Problems, p => Assert.StartsWith("up_block_types[", p));
    }

    [Fact]
    public void The_scheduler_config_sets_the_process_and_lists_what_it_cannot()
    {
        List<string> problems = [], notes = [];
        var (training, target) = DiffusersUNet.MapScheduler(new JsonObject
        {
            ["_class_name"] = "DDPMScheduler", ["beta_schedule"] = "squaredcos_cap_v2", ["num_train_timesteps"] = 1000,
            ["prediction_type"] = "v_prediction", ["clip_sample"] = true,
        }, problems, notes);
        Assert.Empty(problems);
        Assert.Equal((ProcessKind.Ddpm, BetaSchedule.Cosine, PredictionTarget.V), (training.Sde, training.Schedule, target));

        DiffusersUNet.MapScheduler(new JsonObject
        {
            ["beta_schedule"] = "scaled_linear", ["num_train_timesteps"] = 4000, ["prediction_type"] = "sample", ["frobnicate"] = 1,
        }, problems, notes);
        Assert.Equal(["scheduler beta_schedule", "scheduler frobnicate", "scheduler num_train_timesteps", "scheduler prediction_type"],
            problems.Select(p => p[..p.IndexOf(':')]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_cli_lists_each_unrepresentable_setting_on_its_own_line()
    {
        var dir = Support.TempDir("diffusers-bad");
        var config = DdpmConfig();
        config["act_fn"] = "gelu";
        config["resnet_time_scale_shift"] = "scale_shift";
        File.WriteAllText(Path.Combine(dir, DiffusersUNet.ConfigFile), config.ToJsonString());
        File.WriteAllBytes(Path.Combine(dir, DiffusersUNet.WeightsFile), []);
        var r = CliRunner.Run("import", "diffusers", dir, "--out", Path.Combine(dir, "run"));
        output.WriteLine(r.Stderr);
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.TrimEnd().Split('\n');
        Assert.StartsWith("error: ", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("act_fn: \"gelu\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("resnet_time_scale_shift: \"scale_shift\"", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "run")));
    }
}
