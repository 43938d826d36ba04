using Diffusion.Architectures;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

/// <summary>The pre-flight estimate: made of the plan's counts, monotone in the batch, and refusing with what would fit.</summary>
public class MemoryEstimateTests
{
    [Fact]
    public void The_training_estimate_is_made_of_the_plans_counts()
    {
        var summary = ModelSummary.Of(new MlpConfig());
        var e = MemoryEstimate.ForTraining(new MlpConfig(), 10);
        Assert.Equal(4 * summary.TotalParams, e.Weights);
        Assert.Equal(8 * summary.TrainableParams, e.OptimizerState);
        Assert.Equal(summary.ActivationBytes * 5 / 2, e.ActivationsPerExample);
        Assert.Equal(MemoryEstimate.RuntimeBytes + (double)e.Weights + e.Gradients + e.OptimizerState + e.Ema
            + 10.0 * (e.ActivationsPerExample + e.StatePerExample), e.Total);
        Assert.True(MemoryEstimate.ForTraining(new MlpConfig(), 11).Total > e.Total);
    }

    [Fact]
    public void A_run_that_cannot_fit_is_refused_with_the_largest_batch_that_would()
    {
        var e = MemoryEstimate.ForTraining(UNetPresets.UNet28, 1_000_000);
        var perExample = e.ActivationsPerExample + e.StatePerExample;
        var available = (long)(e.Total - (double)perExample * e.Batch + 100.5 * perExample); // room for 100 examples beside the fixed part
        var fits = e.LargestBatchWithin(available);
        Assert.Equal(100, fits);
        Assert.True((e with { Batch = fits }).Total <= available && (e with { Batch = fits + 1 }).Total > available);
        var refusal = Assert.Throws<InsufficientMemoryException>(() => e.EnsureFits(available, "--batch", "--no-memory-check"));
        Assert.Contains($"A --batch of at most {fits:N0} would fit", refusal.Message);
        Assert.Contains("--no-memory-check", refusal.Message);
        e.EnsureFits(null, "--batch", "--no-memory-check"); // unknown available memory: no check
    }

    [Fact]
    public void Available_memory_is_read_from_meminfo()
    {
        var file = Path.Combine(Support.TempDir("meminfo"), "meminfo");
        File.WriteAllText(file, "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n");
        Assert.Equal(20_000_000L * 1024, MemoryEstimate.Available(file));
        Assert.Null(MemoryEstimate.Available(Path.Combine(Path.GetDirectoryName(file)!, "absent")));
    }
}
