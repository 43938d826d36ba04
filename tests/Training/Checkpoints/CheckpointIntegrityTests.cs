using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Checkpoints;

/// <summary>Manifests, damaged checkpoints passed over or refused, strict JSON, and no non-finite tensor ever written.</summary>
public class CheckpointIntegrityTests
{
    private static readonly ModelConfig Small = new MlpConfig(Hidden: 16, Depth: 2);

    private static readonly TrainingConfig Config = new() { Data = DataSet.Moons, Steps = 10, Batch = 32, CheckpointEvery = 5, Seed = 3 };

    /// <summary>A run directory with checkpoints at steps 5 and 10.</summary>
    internal static string TrainedRun(string name)
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir(name);
        using var trainer = new Trainer(Small, Config, DataSources.Resolve(DataSet.Moons));
        trainer.Run(runDir: dir);
        return dir;
    }

    private static string Step(string run, int step) => Path.Combine(run, Checkpoint.DirectoryName(step));

    private static void FlipByte(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var b = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(b ^ 0x10));
    }

    [Fact]
    public void The_manifest_lists_every_file_with_its_size_and_hash()
    {
        var run = TrainedRun("manifest");
        var dir = Step(run, 10);
        var manifest = CheckpointManifest.Parse(File.ReadAllText(Path.Combine(dir, CheckpointManifest.FileName)));
        var files = Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n != CheckpointManifest.FileName).Order();
        Assert.Equal(files, manifest.Files.Keys.Order());
        foreach (var (name, entry) in manifest.Files)
        {
            Assert.Equal(new FileInfo(Path.Combine(dir, name)).Length, entry.Size);
            Assert.Equal(CheckpointManifest.Describe(Path.Combine(dir, name)), entry);
        }
        Assert.Equal(dir, Checkpoint.Find(run));
    }

    [Theory]
    [InlineData(Checkpoint.ModelWeights)]
    [InlineData(Checkpoint.EmaWeights)]
    [InlineData(Checkpoint.OptimizerTensors)]
    [InlineData(Checkpoint.StateFile)]
    [InlineData(Checkpoint.TrainingConfigFile)]
    [InlineData(Checkpoint.ModelConfigFile)]
    public void A_flipped_byte_is_named_and_the_newest_intact_checkpoint_is_used(string file)
    {
        var run = TrainedRun("flip");
        var path = Path.Combine(Step(run, 10), file);
        FlipByte(path, new FileInfo(path).Length - 3); // in the tensor data or the JSON's last field
        var warnings = new List<string>();
        Assert.Equal(Step(run, 5), Checkpoint.Find(run, warnings.Add));
        var warning = Assert.Single(warnings);
        Assert.Contains("step-000010", warning);
        Assert.Contains(file, warning);

        // Named explicitly, the damaged checkpoint is an error, not a fallback.
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Find(Step(run, 10)));
        Assert.Contains(file, e.Message);
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(Checkpoint.Find(Step(run, 10))!));

        // Resume continues from step 5 and writes step 10 afresh.
        using var scope = torch.NewDisposeScope();
        using var resumed = Trainer.Resume(run, DataSources.Resolve(DataSet.Moons), warn: warnings.Add);
        Assert.Equal(5, resumed.Step);
    }

    [Fact]
    public void Truncated_missing_and_unlisted_files_are_damage()
    {
        var run = TrainedRun("truncated");
        var ten = Step(run, 10);
        File.WriteAllBytes(Path.Combine(ten, Checkpoint.ModelWeights), File.ReadAllBytes(Path.Combine(ten, Checkpoint.ModelWeights))[..100]);
        Assert.Contains("100 bytes", Assert.Throws<InvalidDataException>(() => Checkpoint.Find(ten)).Message);
        File.Delete(Path.Combine(ten, Checkpoint.ModelWeights));
        Assert.Contains($"{Checkpoint.ModelWeights} is missing", Assert.Throws<InvalidDataException>(() => Checkpoint.Find(ten)).Message);

        // Every checkpoint damaged: an error naming each, never a silent null.
        File.Delete(Path.Combine(Step(run, 5), Checkpoint.EmaWeights));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Find(run));
        Assert.Contains("step-000010", e.Message);
        Assert.Contains("step-000005", e.Message);
    }

    [Fact]
    public void A_checkpoint_without_a_manifest_still_loads_with_a_note()
    {
        var run = TrainedRun("old");
        foreach (var step in new[] { 5, 10 }) File.Delete(Path.Combine(Step(run, step), CheckpointManifest.FileName));
        var notes = new List<string>();
        Assert.Equal(Step(run, 10), Checkpoint.Find(run, notes.Add));
        Assert.Contains("no manifest.json", Assert.Single(notes));
        using var model = Checkpoint.LoadModel(Step(run, 10));
        Assert.Equal(10, Checkpoint.ReadState(Step(run, 10)).Step);

        // Old files are read leniently: training.json without the fields added since loads with their defaults.
        var training = JsonNode.Parse(File.ReadAllText(Path.Combine(Step(run, 10), Checkpoint.TrainingConfigFile)))!.AsObject();
        training.Remove("on_nonfinite");
        File.WriteAllText(Path.Combine(Step(run, 10), Checkpoint.TrainingConfigFile), training.ToJsonString());
        Assert.Equal(NonFinitePolicy.Stop, Checkpoint.ReadTrainingConfig(Step(run, 10)).OnNonfinite);
    }

    /// <summary>Rewrites one JSON file of a checkpoint and its manifest, as a buggy or foreign writer would: the hashes hold, so only validation can object.</summary>
    private static void Rewrite(string dir, string file, Action<JsonObject> change)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, file)))!.AsObject();
        change(json);
        File.WriteAllText(Path.Combine(dir, file), json.ToJsonString());
        CheckpointManifest.Write(dir);
    }

    [Theory]
    [InlineData(Checkpoint.TrainingConfigFile, "{}", "missing fields $.data")]
    [InlineData(Checkpoint.TrainingConfigFile, "chanels=64", "chanels")]
    [InlineData(Checkpoint.TrainingConfigFile, "steps=0", "steps=0 must be ≥ 1")]
    [InlineData(Checkpoint.StateFile, "step=-5", "$.step: -5 is outside [0, 10]")]
    [InlineData(Checkpoint.StateFile, "step=1000000000", "$.step: 1000000000 is outside [0, 10]")]
    [InlineData(Checkpoint.StateFile, "generators={}", "$.generators.data is missing")]
    [InlineData(Checkpoint.StateFile, "seconds=-1", "$.seconds")]
    [InlineData(Checkpoint.OptimizerMetadata, "steps={\"0\": 99}", "outside [0, 10]")]
    [InlineData(Checkpoint.OptimizerMetadata, "extra=1", "extra")]
    public void Checkpoint_json_is_validated_naming_the_file_and_field(string file, string change, string expected)
    {
        var dir = Step(TrainedRun("strict"), 10);
        Rewrite(dir, file, json =>
        {
            if (change == "{}") json.Clear();
            else json[change[..change.IndexOf('=')]] = JsonNode.Parse(change[(change.IndexOf('=') + 1)..]);
        });
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            Checkpoint.ReadTrainingConfig(dir);
            Checkpoint.ReadState(dir);
            Checkpoint.ReadOptimizer(dir).Dispose();
        });
        Assert.Contains(file, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Non_finite_tensors_are_never_written()
    {
        using var scope = torch.NewDisposeScope();
        var run = TrainedRun("nonfinite");
        using var model = Checkpoint.LoadModel(Step(run, 10));
        var weights = WeightCopy.Named(model.Parameters);
        var poisoned = weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var name = poisoned.Keys.Last();
        poisoned[name] = torch.full_like(poisoned[name], double.PositiveInfinity);
        var state = Checkpoint.ReadState(Step(run, 10)) with { Step = 11 };
        var e = Assert.Throws<NonFiniteValuesException>(() => Checkpoint.Save(run, Small, Config with { Steps = 20 }, state, weights, poisoned, null));
        Assert.Contains($"{Checkpoint.EmaWeights} tensor '{name}'", e.Message);
        Assert.False(Directory.Exists(Step(run, 11)) || Directory.Exists(Step(run, 11) + ".tmp"));
        Assert.Equal(Step(run, 10), Checkpoint.Find(run));
    }
}
