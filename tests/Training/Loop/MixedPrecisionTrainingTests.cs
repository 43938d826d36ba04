using System.Text.Json;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Loop;
using Diffusion.Training.Tests.Cli;
using Diffusion.Training.Tests.Data;
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

    /// <summary>unet28 trained on Fashion-MNIST through the CLI, then 64 samples scored against real images (ImageStats).</summary>
    private (double MeanRmse, double StdRmse, double Loss) FashionRun(string dir, string precision, int seed)
    {
        var run = Path.Combine(dir, $"{precision}-{seed}");
        var train = CliRunner.Run("train", "--model", "unet28", "--data", "fashion-mnist", "--sde", "vp", "--steps", "120", "--batch", "32",
            "--lr", "1e-3", "--checkpoint-every", "0", "--seed", seed.ToString(), "--precision", precision, "--out", run, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var sample = CliRunner.Run("sample", "--checkpoint", run, "--sampler", "dpmpp-2m", "--grid", "logsnr", "--steps", "10", "--n", "64",
            "--seed", "0", "--metrics", "--json");
        Assert.True(sample.ExitCode == 0, sample.Stderr);
        using var trained = JsonDocument.Parse(train.Stdout.TrimEnd().Split('\n')[^1]);
        using var json = JsonDocument.Parse(sample.Stdout.TrimEnd().Split('\n')[^1]);
        var r = json.RootElement;
        var result = (r.GetProperty("pixel_mean_rmse").GetDouble(), r.GetProperty("pixel_std_rmse").GetDouble(), trained.RootElement.GetProperty("mean_loss").GetDouble());
        output.WriteLine($"{precision} seed {seed}: pixel mean RMSE {result.Item1:F2}, pixel std RMSE {result.Item2:F2}, mean loss {result.Item3:F4}");
        return result;
    }

    [FashionMnistFact]
    public void Bf16_unet28_samples_have_the_float32_per_pixel_quality_after_the_same_steps()
    {
        // Same seed: the two precisions see the same batches and noise and differ by rounding only; a second float32 seed
        // says how far apart two equally good models are. bf16's ImageStats must lie within that (or within 10 %).
        var dir = Support.TempDir("bf16-fashion");
        var fp32 = FashionRun(dir, "fp32", 0);
        var other = FashionRun(dir, "fp32", 1);
        var bf16 = FashionRun(dir, "bf16", 0);
        Directory.Delete(dir, recursive: true);
        Assert.True(Math.Abs(bf16.MeanRmse - fp32.MeanRmse) <= Math.Max(Math.Abs(other.MeanRmse - fp32.MeanRmse), 0.1 * fp32.MeanRmse),
            $"pixel mean RMSE bf16 {bf16.MeanRmse:F2} vs fp32 {fp32.MeanRmse:F2} (another fp32 seed: {other.MeanRmse:F2})");
        Assert.True(Math.Abs(bf16.StdRmse - fp32.StdRmse) <= Math.Max(Math.Abs(other.StdRmse - fp32.StdRmse), 0.1 * fp32.StdRmse),
            $"pixel std RMSE bf16 {bf16.StdRmse:F2} vs fp32 {fp32.StdRmse:F2} (another fp32 seed: {other.StdRmse:F2})");
        Assert.True(Math.Abs(bf16.Loss - fp32.Loss) <= Math.Max(Math.Abs(other.Loss - fp32.Loss), 0.02 * fp32.Loss),
            $"mean loss bf16 {bf16.Loss:F4} vs fp32 {fp32.Loss:F4} (another fp32 seed: {other.Loss:F4})");
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
