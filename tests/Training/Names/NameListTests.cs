using System.Text.Json;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Losses;
using Diffusion.Training.Names;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Diffusion.Training.Tests.Cli;
using Xunit;

namespace Diffusion.Training.Tests.Names;

/// <summary>Every closed name list: names and aliases round-trip, unknown names say where and what is known, old files load.</summary>
public class NameListTests
{
    private static void AssertRoundTrips<T>(NameList<T> names) where T : struct, Enum
    {
        Assert.Equal(Enum.GetValues<T>().Order(), names.Entries.Select(e => e.Value).Order());
        foreach (var entry in names.Entries)
        {
            Assert.Equal(entry.Value, names.Parse(names.Name(entry.Value), "--flag"));
            Assert.Equal(entry.Value, names.Parse(entry.Name.ToUpperInvariant(), "--flag"));
            foreach (var alias in entry.Aliases) Assert.Equal(entry.Value, names.Parse(alias, "--flag"));
            Assert.False(string.IsNullOrWhiteSpace(entry.Description));
            Assert.Contains(entry.Name, names.Help);
        }
        var e = Assert.Throws<UnknownNameException>(() => names.Parse("no-such-name", "--flag"));
        Assert.True(e.FromFlag);
        Assert.StartsWith("--flag: unknown", e.Message);
        Assert.Contains("'no-such-name'", e.Message);
        foreach (var entry in names.Entries) Assert.Contains(entry.Name, e.Message);
    }

    [Fact] public void Sdes_round_trip() => AssertRoundTrips(ProcessKinds.Names);
    [Fact] public void Beta_schedules_round_trip() => AssertRoundTrips(BetaSchedules.Names);
    [Fact] public void Optimizers_round_trip() => AssertRoundTrips(OptimizerKinds.Names);
    [Fact] public void Samplers_round_trip() => AssertRoundTrips(SamplerKinds.Names);
    [Fact] public void Data_sets_round_trip() => AssertRoundTrips(DataSets.Names);
    [Fact] public void Loss_weightings_round_trip() => AssertRoundTrips(LossWeights.Names);
    [Fact] public void Precisions_round_trip() => AssertRoundTrips(PrecisionNames.Names);

    [Fact]
    public void A_precision_survives_training_json_and_an_older_file_without_one_is_float32()
    {
        var config = new TrainingConfig { Precision = Diffusion.Primitives.Precision.BF16 };
        Assert.Contains("\"precision\": \"bf16\"", config.ToJson());
        Assert.Equal(config, TrainingConfig.FromJson(config.ToJson()));
        Assert.Equal(Diffusion.Primitives.Precision.FP32, TrainingConfig.FromJson("{\"steps\": 10}").Precision);
    }

    [Fact]
    public void Every_name_survives_a_training_json_round_trip()
    {
        foreach (var sde in Enum.GetValues<ProcessKind>())
        foreach (var schedule in Enum.GetValues<BetaSchedule>())
        foreach (var optimizer in Enum.GetValues<OptimizerKind>())
        foreach (var data in Enum.GetValues<DataSet>())
        {
            var config = new TrainingConfig { Sde = sde, Schedule = schedule, Optimizer = optimizer, Data = data, Weighting = Weighting.Likelihood };
            var json = config.ToJson();
            Assert.Contains($"\"sde\": \"{ProcessKinds.Names.Name(sde)}\"", json);
            Assert.Contains($"\"data\": \"{DataSets.Names.Name(data)}\"", json);
            Assert.Equal(config, TrainingConfig.FromJson(json));
        }
        var path = new TrainingConfig { Data = new DataRef.Path("/data/x.safetensors") };
        Assert.Equal(path, TrainingConfig.FromJson(path.ToJson()));
    }

    [Fact]
    public void A_training_json_written_before_the_names_were_typed_still_loads()
    {
        // Exactly as an older run wrote it (strings compared in switches), plus an alias someone may have typed.
        const string old = """
            {
              "data": "moons",
              "sde": "sub-vp",
              "schedule": "linear",
              "steps": 8000,
              "batch": 512,
              "lr": 0.001,
              "optimizer": "adamw",
              "weight_decay": 0,
              "warmup_steps": 0,
              "grad_clip": 1,
              "ema_decay": 0.999,
              "seed": 0,
              "weighting": "sigma2",
              "reduction": "mean",
              "min_snr_gamma": null,
              "sigma_max": null,
              "checkpoint_every": 1000,
              "label_dropout": 0.1
            }
            """;
        var config = TrainingConfig.FromJson(old);
        Assert.Equal(new TrainingConfig { Sde = ProcessKind.SubVp, Optimizer = OptimizerKind.AdamW, CheckpointEvery = 1000 }, config);
        Assert.Equal(new DataRef.Named(DataSet.Moons), config.Data);
        Assert.Equal(ProcessKind.SubVp, config.Process.Kind);
        Assert.Contains("\"sde\": \"subvp\"", config.ToJson());
    }

    [Fact]
    public void An_unknown_name_in_training_json_names_its_path_and_the_known_names()
    {
        var json = new TrainingConfig().ToJson().Replace("\"sde\": \"vp\"", "\"sde\": \"vq\"");
        var e = Assert.Throws<JsonException>(() => TrainingConfig.FromJson(json));
        Assert.Contains("training.json $.sde", e.Message);
        Assert.Contains("'vq'", e.Message);
        Assert.Contains(ProcessKinds.Names.Known, e.Message);
    }

    [Theory]
    [InlineData("train", "--sde", "vq")]
    [InlineData("train", "--data", "moonz")]
    public void An_unknown_name_on_the_command_line_names_the_flag_and_the_known_names(string command, string flag, string value)
    {
        string[] args = flag == "--sde"
            ? [command, "--model", "mlp-seed", "--data", "moons", "--sde", value, "--steps", "1", "--out", Support.TempDir("names")]
            : [command, "--model", "mlp-seed", "--data", value, "--steps", "1", "--out", Support.TempDir("names")];
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode); // an unknown name given to a flag is a usage error
        Assert.Contains($"{flag}: unknown", result.Stderr);
        Assert.Contains($"'{value}'", result.Stderr);
        var known = flag == "--sde" ? ProcessKinds.Names.Known : DataSets.Names.Known;
        Assert.Contains(known, result.Stderr);
    }

    [Fact]
    public void An_unknown_sampler_names_the_flag_and_the_known_samplers()
    {
        var run = Support.TempDir("names-sampler");
        using (var trainer = new Trainer(new Architectures.MlpConfig(Hidden: 8, Depth: 1), new TrainingConfig { Steps = 1, Batch = 8 }, DataSources.Resolve(DataSet.Moons)))
            trainer.Run(runDir: run);
        var result = CliRunner.Run("sample", "--checkpoint", run, "--sampler", "euler_a", "--n", "4");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--sampler: unknown sampler 'euler_a'", result.Stderr);
        Assert.Contains(SamplerKinds.Names.Known, result.Stderr);
    }
}
