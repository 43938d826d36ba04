using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Loop;
using Diffusion.Training.Sde;
using Diffusion.Training.Data;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

public class CheckpointTests
{
    private static readonly ModelConfig Small = new MlpConfig(Hidden: 32, Depth: 2);

    private static TrainingConfig Config(int steps, ProcessKind sde = ProcessKind.Vp) => new()
    {
        Data = DataSet.Moons, Sde = sde, Steps = steps, Batch = 64, Lr = 1e-3, WarmupSteps = 5, EmaDecay = 0.9, Seed = 42, GradClip = 0.5,
    };

    private static Dictionary<string, float[]> Snapshot(IReadOnlyDictionary<string, Tensor> tensors) =>
        tensors.ToDictionary(kv => kv.Key, kv => kv.Value.detach().contiguous().ToArray<float>());

    private static void AssertBitwiseEqual(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.True(a[key].AsSpan().SequenceEqual(b[key]), $"{key} differs");
    }

    [Theory]
    [InlineData(ProcessKind.Vp)]
    [InlineData(ProcessKind.Ddpm)]
    public void Resumed_run_reaches_bitwise_the_same_weights_ema_and_optimizer_state(ProcessKind sde)
    {
        using var scope = torch.NewDisposeScope();
        const int n = 15;
        var dir = Support.TempDir("resume");

        Dictionary<string, float[]> weights, ema, adam;
        using (var straight = new Trainer(Small, Config(2 * n, sde), DataSources.Resolve(DataSet.Moons)))
        {
            straight.Run();
            weights = Snapshot(WeightCopy.Named(straight.Model.Parameters));
            ema = Snapshot(straight.Ema.Weights);
            straight.SaveCheckpoint(Path.Combine(dir, "straight"));
            adam = Snapshot(Safetensors.Load(Path.Combine(dir, "straight", Checkpoint.DirectoryName(2 * n), Checkpoint.OptimizerTensors)));
        }

        var run = Path.Combine(dir, "interrupted");
        using (var first = new Trainer(Small, Config(2 * n, sde) with { CheckpointEvery = n }, DataSources.Resolve(DataSet.Moons)))
            first.Run(runDir: run, stopAfter: n + 3); // killed after the step-n checkpoint, 3 steps lost
        Assert.Equal(Checkpoint.DirectoryName(n), File.ReadAllText(Path.Combine(run, Checkpoint.Latest)));
        using (var resumed = Trainer.Resume(run, DataSources.Resolve(DataSet.Moons)))
        {
            Assert.Equal(n, resumed.Step);
            resumed.Run(runDir: run);
            Assert.Equal(2 * n, resumed.Step);
            AssertBitwiseEqual(weights, Snapshot(WeightCopy.Named(resumed.Model.Parameters)));
            AssertBitwiseEqual(ema, Snapshot(resumed.Ema.Weights));
        }
        AssertBitwiseEqual(adam, Snapshot(Safetensors.Load(Path.Combine(run, Checkpoint.DirectoryName(2 * n), Checkpoint.OptimizerTensors))));
        Assert.Equal(
            File.ReadAllText(Path.Combine(dir, "straight", Checkpoint.DirectoryName(2 * n), Checkpoint.OptimizerMetadata)),
            File.ReadAllText(Path.Combine(run, Checkpoint.DirectoryName(2 * n), Checkpoint.OptimizerMetadata)));
    }

    [Fact]
    public void Checkpoint_round_trips_model_ema_configs_and_state()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("roundtrip");
        using var trainer = new Trainer(Small, Config(10), DataSources.Resolve(DataSet.Moons));
        trainer.Run(runDir: dir);
        var found = Checkpoint.Find(dir)!;
        Assert.EndsWith(Checkpoint.DirectoryName(10), found);
        foreach (var file in new[] { Checkpoint.ModelWeights, Checkpoint.EmaWeights, Checkpoint.OptimizerTensors, Checkpoint.OptimizerMetadata,
                     Checkpoint.ModelConfigFile, Checkpoint.TrainingConfigFile, Checkpoint.StateFile })
            Assert.True(File.Exists(Path.Combine(found, file)), file);
        Assert.Equal(Small, Checkpoint.ReadModelConfig(found));
        Assert.Equal(trainer.Config.ToJson(), Checkpoint.ReadTrainingConfig(found).ToJson());
        Assert.Equal(10, Checkpoint.ReadState(found).Step);
        using var raw = Checkpoint.LoadModel(found, ema: false);
        AssertBitwiseEqual(Snapshot(WeightCopy.Named(trainer.Model.Parameters)), Snapshot(WeightCopy.Named(raw.Parameters)));
        using var averaged = Checkpoint.LoadModel(found);
        AssertBitwiseEqual(Snapshot(trainer.Ema.Weights), Snapshot(WeightCopy.Named(averaged.Parameters)));
    }

    [Fact]
    public void Partial_checkpoints_are_never_picked_up()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("atomic");
        using (var trainer = new Trainer(Small, Config(10) with { CheckpointEvery = 5 }, DataSources.Resolve(DataSet.Moons)))
            trainer.Run(runDir: dir, stopAfter: 7);
        var good = Path.Combine(dir, Checkpoint.DirectoryName(5));

        // A run killed while writing step 9: its .tmp directory holds some files, latest still names step 5.
        var torn = Path.Combine(dir, Checkpoint.DirectoryName(9) + ".tmp");
        Directory.CreateDirectory(torn);
        File.WriteAllText(Path.Combine(torn, Checkpoint.StateFile), "{\"step\": 9");
        File.WriteAllBytes(Path.Combine(torn, Checkpoint.ModelWeights), [1, 2, 3]);
        Assert.Equal(good, Checkpoint.Find(dir));

        // Even without the latest pointer, only complete directories count.
        File.Delete(Path.Combine(dir, Checkpoint.Latest));
        Directory.CreateDirectory(Path.Combine(dir, Checkpoint.DirectoryName(8)));
        Assert.Equal(good, Checkpoint.Find(dir));

        using var resumed = Trainer.Resume(dir, DataSources.Resolve(DataSet.Moons));
        Assert.Equal(5, resumed.Step);
        resumed.Run(runDir: dir);
        Assert.Equal(Path.Combine(dir, Checkpoint.DirectoryName(10)), Checkpoint.Find(dir));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Path.Combine(dir, Checkpoint.DirectoryName(10))), f => f.EndsWith(".tmp"));
    }

    [Fact]
    public void Missing_checkpoint_is_a_clear_error()
    {
        var dir = Support.TempDir("missing");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Trainer.Resume(dir, DataSources.Resolve(DataSet.Moons)));
        Assert.Contains("no checkpoint", e.Message);
    }
}
