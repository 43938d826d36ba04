using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

/// <summary>The divergence guard: a non-finite loss or gradient norm stops the run (or skips the step); the last good checkpoint stays latest.</summary>
public class DivergenceGuardTests
{
    private static readonly ModelConfig Small = new MlpConfig(Hidden: 16, Depth: 2);

    /// <summary>Moons whose batches turn to NaN from batch <paramref name="firstBad"/> (1-based) on, for <paramref name="badCount"/> batches.</summary>
    private sealed class PoisonedMoons(int firstBad, int badCount = int.MaxValue) : IDataSource
    {
        private int served;
        public string Name => "moons";
        public long[] SampleShape => [2];
        public int? NumClasses => null;

        public DataBatch Next(int batch, Generator generator)
        {
            served++;
            var x = ToyDatasets.Sample(DataSet.Moons, batch, generator);
            return new DataBatch(served >= firstBad && served < (long)firstBad + badCount ? torch.full_like(x, double.NaN) : x, null);
        }

        public void Dispose() { }
    }

    private static TrainingConfig Config(NonFinitePolicy policy) => new()
    {
        Data = DataSet.Moons, Steps = 12, Batch = 32, CheckpointEvery = 5, Seed = 1, OnNonfinite = policy,
    };

    private static void AssertAllFinite(string checkpoint)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var file in new[] { Checkpoint.ModelWeights, Checkpoint.EmaWeights, Checkpoint.OptimizerTensors })
            Assert.Null(NonFiniteValuesException.FirstNonFinite(Safetensors.Load(Path.Combine(checkpoint, file))));
    }

    [Fact]
    public void A_nan_batch_stops_the_run_naming_the_step_and_parameter_and_the_last_good_checkpoint_stays_latest()
    {
        using var scope = torch.NewDisposeScope();
        var run = Support.TempDir("diverge-stop");
        using var trainer = new Trainer(Small, Config(NonFinitePolicy.Stop), new PoisonedMoons(firstBad: 8));
        var e = Assert.Throws<NonFiniteValuesException>(() => trainer.Run(runDir: run));
        Assert.Contains("step 8 of 12", e.Message);
        Assert.Contains("first parameter with a non-finite gradient: net.0.weight", e.Message);
        Assert.Equal(7, trainer.Step);
        Assert.Equal(Path.Combine(run, Checkpoint.DirectoryName(5)), Checkpoint.Find(run));
        Assert.Equal([Checkpoint.DirectoryName(5)], Directory.GetDirectories(run).Select(Path.GetFileName));
        AssertAllFinite(Checkpoint.Find(run)!);
        // The failed step changed nothing: the weights are those of step 7, all finite.
        Assert.Null(NonFiniteValuesException.FirstNonFinite(WeightCopy.Named(trainer.Model.Parameters)));
        Assert.Null(NonFiniteValuesException.FirstNonFinite(trainer.Ema.Weights));
    }

    [Fact]
    public void With_skip_the_bad_steps_are_dropped_and_the_run_finishes_with_finite_checkpoints()
    {
        using var scope = torch.NewDisposeScope();
        var run = Support.TempDir("diverge-skip");
        using var trainer = new Trainer(Small, Config(NonFinitePolicy.Skip), new PoisonedMoons(firstBad: 4, badCount: 3));
        var result = trainer.Run(runDir: run);
        Assert.Equal((12, 3), (result.Steps, result.SkippedSteps));
        Assert.True(double.IsFinite(result.FinalLoss));
        foreach (var step in new[] { 5, 10, 12 }) AssertAllFinite(Path.Combine(run, Checkpoint.DirectoryName(step)));
        // metrics.jsonl holds the finite steps only (a NaN line is no JSON number).
        Assert.Equal([1, 2, 3, 7, 8, 9, 10, 11, 12], MetricsLog.Read(MetricsLog.PathIn(run)).Select(m => m.Step));
    }
}
