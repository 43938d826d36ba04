using System.Text.Json;
using System.Text.RegularExpressions;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

public class TrainFlagsTests
{
    /// <summary>WarmupSteps → --warmup-steps: the training.json field with dashes.</summary>
    private static string Flag(string property) => "--" + Regex.Replace(property, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();

    [Fact]
    public void Every_training_setting_has_a_train_flag()
    {
        var help = CliRunner.Run("train", "--help");
        Assert.Equal(0, help.ExitCode);
        var flags = Regex.Matches(help.Stdout, @"--[a-z][a-z-]*").Select(m => m.Value).ToHashSet();
        var settings = typeof(TrainingConfig).GetProperties().Where(p => p.SetMethod is not null).Select(p => Flag(p.Name)).ToArray();
        Assert.Contains("--min-snr-gamma", settings);
        var missing = settings.Where(f => !flags.Contains(f)).ToArray();
        Assert.True(missing.Length == 0, $"training settings without a train flag: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Flags_override_the_config_file_which_overrides_the_defaults()
    {
        var dir = Support.TempDir("train-config");
        var file = Path.Combine(dir, "training.json");
        File.WriteAllText(file, """{ "data": "moons", "steps": 3, "batch": 16, "lr": 0.01, "optimizer": "adamw", "ema_decay": 0.5, "checkpoint_every": 0, "reduction": "sum" }""");
        var run = Path.Combine(dir, "run");
        var result = CliRunner.Run("train", "--model", "mlp-seed", "--config", file, "--lr", "0.02", "--weighting", "likelihood", "--out", run);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var expected = new TrainingConfig
        {
            Data = DataSet.Moons, Steps = 3, Batch = 16, Lr = 0.02, Optimizer = OptimizerKind.AdamW, EmaDecay = 0.5, CheckpointEvery = 0,
            Reduction = Losses.LossReduction.Sum, Weighting = Losses.Weighting.Likelihood, LogEvery = 1,
        };
        Assert.Equal(expected.ToJson(), Checkpoint.ReadTrainingConfig(Checkpoint.Find(run)!).ToJson());
        Assert.Equal([1, 2, 3], MetricsLog.Read(MetricsLog.PathIn(run)).Select(m => m.Step));
    }

    [Fact]
    public void An_unknown_field_in_the_config_file_is_an_error_naming_its_path()
    {
        var e = Assert.Throws<JsonException>(() => TrainingConfigFile.Parse("""{ "lr": 0.01, "learning_rate": 3 }""", new TrainingConfig(), "my.json"));
        Assert.StartsWith("my.json $.learning_rate: unknown training setting", e.Message);
        var bad = Assert.Throws<JsonException>(() => TrainingConfigFile.Parse("""{ "optimizer": "sgd" }""", new TrainingConfig(), "my.json"));
        Assert.Contains("$.optimizer", bad.Message);
        var (config, given) = TrainingConfigFile.Parse("""{ "grad_clip": 0.5 }""", new TrainingConfig { Batch = 7 }, "my.json");
        Assert.Equal((0.5, 7), (config.GradClip, config.Batch));
        Assert.Equal(["grad_clip"], given);
    }
}
