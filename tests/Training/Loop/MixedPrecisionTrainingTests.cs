using System.Text.Json;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Loop;
using Diffusion.Training.Tests.Cli;
using Diffusion.Training.Tests.Sampling;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Loop;

/// <summary>bf16 mixed precision (README, Precision) trains as float32 does, and runs end to end through the CLI.</summary>
public class MixedPrecisionTrainingTests(ITestOutputHelper output)
{
    /// <summary>A tiny U-Net with self-attention at 4×4, so convolutions, linears, norms and softmax all take part.</summary>
    private static readonly UNetConfig Tiny = new()
    {
        InChannels = 1, Size = [8, 8], Channels = 16, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [4], MidAttention = true,
        NormGroups = 8, Dropout = 0,
    };

    private const int Steps = 60, Batch = 16;
    private static readonly ulong[] Seeds = [0, 1, 2];

    /// <summary>The mean loss of a short VP-SDE run on smooth 8×8 images (every step of it: fewer than 100).</summary>
    private static double TrainedLoss(Precision precision, ulong seed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(100);
        using var data = new TensorDataSource("planes", InpaintCliTests.Planes(1024, g).DetachFromDisposeScope(), null, null);
        using var trainer = new Trainer(Tiny, new TrainingConfig { Steps = Steps, Batch = Batch, Lr = 2e-3, Seed = seed, Precision = precision }, data);
        return trainer.Run().RecentMeanLoss;
    }

    [Fact]
    public void Bf16_training_reaches_the_float32_loss_within_the_seed_to_seed_spread()
    {
        var fp32 = Seeds.Select(s => TrainedLoss(Precision.FP32, s)).ToArray();
        var bf16 = Seeds.Select(s => TrainedLoss(Precision.BF16, s)).ToArray();
        output.WriteLine($"fp32 {string.Join(", ", fp32.Select(l => l.ToString("F4")))}; bf16 {string.Join(", ", bf16.Select(l => l.ToString("F4")))}");
        // Same seed, same batches and noise: the runs differ only by rounding, which is far below what another seed changes.
        var spread = fp32.Max() - fp32.Min();
        Assert.True(Math.Abs(bf16.Average() - fp32.Average()) <= Math.Max(spread, 0.02 * fp32.Average()),
            $"mean loss bf16 {bf16.Average():F4} vs fp32 {fp32.Average():F4}; fp32 seed-to-seed spread {spread:F4}");
        Assert.All(bf16, l => Assert.True(double.IsFinite(l)));
    }

    [Fact]
    public void Train_checkpoint_and_sample_in_bf16_through_the_cli()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"bf16-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var data = Path.Combine(dir, "planes.safetensors");
            using (var g = new Generator(0)) Safetensors.Save(data, new Dictionary<string, Tensor> { ["data"] = InpaintCliTests.Planes(512, g) });
            var model = Path.Combine(dir, "unet8.json");
            File.WriteAllText(model, Tiny.ToJson());
            var run = Path.Combine(dir, "run");
            var train = CliRunner.Run("train", "--model", model, "--data", data, "--steps", "30", "--batch", "16", "--precision", "bf16", "--out", run);
            Assert.True(train.ExitCode == 0, train.Stderr);

            var checkpoint = Checkpoint.Find(run)!;
            Assert.Equal(Precision.BF16, Checkpoint.ReadTrainingConfig(checkpoint).Precision);
            using (var scope = torch.NewDisposeScope())
                Assert.All(Safetensors.Load(Path.Combine(checkpoint, Checkpoint.ModelWeights)).Values, t => Assert.Equal(ScalarType.Float32, t.dtype));

            foreach (var precision in new[] { "bf16", "fp32" }) // float32 master checkpoints load under either
            {
                var sample = CliRunner.Run("sample", "--checkpoint", run, "--sampler", "heun", "--steps", "10", "--n", "8", "--metrics", "--precision", precision, "--json");
                Assert.True(sample.ExitCode == 0, sample.Stderr);
                output.WriteLine($"{precision}: {sample.Stdout}");
                using var json = JsonDocument.Parse(sample.Stdout.TrimEnd().Split('\n')[^1]);
                Assert.True(double.IsFinite(json.RootElement.GetProperty("pixel_mean_rmse").GetDouble()));
            }
            var bad = CliRunner.Run("sample", "--checkpoint", run, "--precision", "fp16");
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("--precision: unknown precision 'fp16'; known: fp32, bf16", bad.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
