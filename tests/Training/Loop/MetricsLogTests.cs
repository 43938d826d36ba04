using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Tests.Plots;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

public class MetricsLogTests
{
    private static readonly ModelConfig Small = new MlpConfig(Hidden: 32, Depth: 2);

    private static TrainingConfig Config(int steps) => new()
    {
        Data = DataSet.Moons, Steps = steps, Batch = 64, Lr = 1e-3, WarmupSteps = 5, EmaDecay = 0.9, Seed = 7, GradClip = 0.5, LogEvery = 1,
        CheckpointEvery = 10,
    };

    [Fact]
    public void A_run_killed_after_a_checkpoint_and_resumed_logs_every_step_once_with_the_uninterrupted_values()
    {
        using var scope = torch.NewDisposeScope();
        const int k = 30;
        var dir = Support.TempDir("metrics-resume");
        var straight = Path.Combine(dir, "straight");
        using (var t = new Trainer(Small, Config(k), DataSources.Resolve(DataSet.Moons))) t.Run(runDir: straight);

        var run = Path.Combine(dir, "interrupted");
        using (var t = new Trainer(Small, Config(k), DataSources.Resolve(DataSet.Moons))) t.Run(runDir: run, stopAfter: 23); // checkpoint at 20
        File.AppendAllText(MetricsLog.PathIn(run), "{\"step\":24,\"loss\":0.3"); // killed mid-write
        Assert.Equal(23, MetricsLog.Read(MetricsLog.PathIn(run)).Count);
        using (var t = Trainer.Resume(run, DataSources.Resolve(DataSet.Moons)))
        {
            Assert.Equal(20, t.Step);
            t.Run(runDir: run);
        }

        var expected = MetricsLog.Read(MetricsLog.PathIn(straight));
        var actual = MetricsLog.Read(MetricsLog.PathIn(run));
        Assert.Equal(Enumerable.Range(1, k), expected.Select(m => m.Step));
        Assert.Equal(Enumerable.Range(1, k), actual.Select(m => m.Step));
        // Bitwise: resume is exact, and JSON doubles round-trip.
        Assert.Equal(expected.Select(m => (m.Loss, m.Lr, m.GradNorm, m.EmaDecay)), actual.Select(m => (m.Loss, m.Lr, m.GradNorm, m.EmaDecay)));
        Assert.All(actual, m => Assert.True(m.GradNorm > 0 && m.StepsPerS > 0, $"step {m.Step}: {m}"));
        // Wall time continues from the checkpoint's rather than restarting at 0.
        Assert.True(actual.Zip(actual.Skip(1)).All(p => p.Second.WallS >= p.First.WallS), "wall time goes backwards");
        Assert.EndsWith("\n", File.ReadAllText(MetricsLog.PathIn(run)));
    }

    [Fact]
    public void Truncating_keeps_complete_lines_up_to_the_step_and_drops_a_torn_last_line()
    {
        var dir = Support.TempDir("metrics-truncate");
        var lines = Enumerable.Range(1, 5).Select(s => MetricsLog.ToLine(new StepMetrics(s, 1.0 / s, 1e-3, 2, 0.9, 100, s * 0.01)));
        File.WriteAllText(MetricsLog.PathIn(dir), string.Concat(lines.Select(l => l + "\n")) + "{\"step\":6,\"lo");
        Assert.Equal([1, 2, 3, 4, 5], MetricsLog.Read(MetricsLog.PathIn(dir)).Select(m => m.Step));

        MetricsLog.TruncateTo(dir, 5);
        Assert.Equal(string.Concat(lines.Select(l => l + "\n")), File.ReadAllText(MetricsLog.PathIn(dir)));
        MetricsLog.TruncateTo(dir, 3);
        Assert.Equal([1, 2, 3], MetricsLog.Read(MetricsLog.PathIn(dir)).Select(m => m.Step));
        Assert.Equal(1.0 / 3, MetricsLog.Read(MetricsLog.PathIn(dir))[2].Loss);
    }

    [Theory]
    [InlineData(100, 1)]
    [InlineData(10_000, 1)]
    [InlineData(10_001, 2)]
    [InlineData(25_000, 5)]
    [InlineData(100_000, 10)]
    [InlineData(1_000_000, 100)]
    public void The_default_cadence_keeps_the_file_at_most_ten_thousand_lines(int steps, int every)
    {
        Assert.Equal(every, TrainingConfig.AutoLogEvery(steps));
        Assert.True(steps / every <= 10_000);
    }

    [Fact]
    public void An_image_model_writes_a_sample_grid_per_checkpoint()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("sample-grid");
        var dataFile = Path.Combine(dir, "images.safetensors");
        using (var g = new Generator(3)) Safetensors.Save(dataFile, new Dictionary<string, Tensor> { ["data"] = torch.rand([32, 1, 8, 8], g) * 2 - 1 });
        var model = new UNetConfig
        {
            InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [], MidAttention = false,
            NormGroups = 4, Dropout = 0,
        };
        var run = Path.Combine(dir, "run");
        var config = new TrainingConfig { Data = new DataRef.Path(dataFile), Steps = 4, Batch = 4, CheckpointEvery = 2, SampleEvery = 2 };
        using (var data = DataSources.Resolve(config.Data))
        using (var t = new Trainer(model, config, data)) t.Run(runDir: run);

        foreach (var step in new[] { 2, 4 })
        {
            Assert.True(Directory.Exists(Path.Combine(run, Diffusion.Training.Checkpoints.Checkpoint.DirectoryName(step))), $"checkpoint {step}");
            var png = PngDecoder.Decode(File.ReadAllBytes(SampleGrid.PathFor(run, step)));
            Assert.True(png.Width > 4 * 8 && png.Height > 4 * 8, $"{png.Width}×{png.Height}");
        }
        Assert.Equal(2, Directory.GetFiles(Path.Combine(run, SampleGrid.Folder)).Length);
    }

    [Fact]
    public void Point_models_get_no_sample_grids()
    {
        using var scope = torch.NewDisposeScope();
        var run = Support.TempDir("no-grid");
        using (var t = new Trainer(Small, Config(4) with { SampleEvery = 2 }, DataSources.Resolve(DataSet.Moons))) t.Run(runDir: run);
        Assert.False(SampleGrid.Applies(Small));
        Assert.False(Directory.Exists(Path.Combine(run, SampleGrid.Folder)));
    }
}
