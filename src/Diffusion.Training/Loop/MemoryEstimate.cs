using Diffusion.Architectures;

namespace Diffusion.Training.Loop;

/// <summary>
/// Resident memory a run will need, estimated from the model's plan before anything is allocated (see the README's
/// "Bad input" section for how close it comes to measured peak RSS). float32 throughout:
/// <list type="bullet">
/// <item>training: weights + gradients + Adam's two moments + the EMA copy (4 × 4 bytes per trainable parameter, 8 per
/// frozen one), plus activations: the summary's Σ leaf-layer outputs per example × 2.5 (autograd keeps layer inputs and
/// outputs for the backward pass; concatenations, norms and activations add temporaries) × batch, plus the batch's x,
/// noise and x_t;</item>
/// <item>sampling: one set of weights, one forward's leaf outputs per example × 1.5 (no autograd, but temporaries) × batch,
/// and the sampler's state (x, the noise and up to four model outputs a multistep solver keeps) per example × batch;</item>
/// <item>both: <see cref="RuntimeBytes"/> for the .NET runtime, libtorch and its thread pools.</item>
/// </list>
/// </summary>
public sealed record MemoryEstimate(string What, long Weights, long Gradients, long OptimizerState, long Ema, long ActivationsPerExample, long Batch,
    long StatePerExample)
{
    private const long Float = 4;

    /// <summary>Resident size of the process besides the model: .NET, libtorch and its thread pools (mlp-seed's whole run peaks at 227 MiB).</summary>
    public const long RuntimeBytes = 256L << 20;

    /// <summary>Training one <paramref name="model"/> with batches of <paramref name="batch"/>.</summary>
    public static MemoryEstimate ForTraining(ModelConfig model, long batch)
    {
        var summary = ModelSummary.Of(model);
        var input = summary.InputBytes;                                          // one example
        return new MemoryEstimate("training", summary.TotalParams * Float, summary.TrainableParams * Float, 2 * summary.TrainableParams * Float,
            summary.TotalParams * Float, summary.ActivationBytes * 5 / 2, batch, 3 * input);
    }

    /// <summary>Sampling <paramref name="batch"/> examples at a time from <paramref name="model"/>.</summary>
    public static MemoryEstimate ForSampling(ModelConfig model, long batch)
    {
        var summary = ModelSummary.Of(model);
        return new MemoryEstimate("sampling", summary.TotalParams * Float, 0, 0, 0, summary.ActivationBytes * 3 / 2, batch, 6 * summary.InputBytes);
    }

    /// <summary>The whole estimate in bytes (saturating: an absurd batch gives a huge number, never a wrapped one).</summary>
    public double Total => RuntimeBytes + (double)Weights + Gradients + OptimizerState + Ema + (double)(ActivationsPerExample + StatePerExample) * Batch;

    public override string ToString() =>
        $"{What} needs ≈ {Size(Total)}: weights {Size(Weights)}" + (Gradients > 0 ? $", gradients {Size(Gradients)}, Adam state {Size(OptimizerState)}, EMA {Size(Ema)}" : "")
        + $", activations and sampler state {Size(ActivationsPerExample + StatePerExample)} per example × batch {Batch:N0}, runtime {Size(RuntimeBytes)}";

    /// <summary>Bytes as a person reads them: 812 MiB, 3.4 GiB, 2.1 TiB.</summary>
    public static string Size(double bytes) => bytes switch
    {
        < 1 << 20 => $"{bytes / 1024:0.#} KiB",
        < 1L << 30 => $"{bytes / (1 << 20):0.#} MiB",
        < 1L << 40 => $"{bytes / (1L << 30):0.##} GiB",
        _ => $"{bytes / (1L << 40):0.##} TiB",
    };

    /// <summary>The largest batch (≥ 0) whose estimate fits in <paramref name="bytes"/>.</summary>
    public long LargestBatchWithin(double bytes)
    {
        var fixedPart = Total - (double)(ActivationsPerExample + StatePerExample) * Batch;
        var perExample = Math.Max(1, ActivationsPerExample + StatePerExample);
        return (long)Math.Clamp(Math.Floor((bytes - fixedPart) / perExample), 0, long.MaxValue / 2);
    }

    /// <summary>MemAvailable of /proc/meminfo in bytes: what the kernel can give without swapping; null where it cannot be read.</summary>
    public static long? Available(string meminfo = "/proc/meminfo")
    {
        try
        {
            foreach (var line in File.ReadLines(meminfo))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], out var kib))
                    return kib * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>
    /// Throws an <see cref="InsufficientMemoryException"/> with this estimate, the memory available and what to change
    /// when the estimate exceeds <paramref name="available"/> (unknown available memory: no check).
    /// </summary>
    public void EnsureFits(long? available, string batchFlag, string overrideFlag)
    {
        if (available is not { } bytes || Total <= bytes) return;
        var fits = LargestBatchWithin(bytes);
        throw new InsufficientMemoryException($"{this}; only {Size(bytes)} is available (MemAvailable in /proc/meminfo). "
            + (fits >= 1 ? $"A {batchFlag} of at most {fits:N0} would fit" : "Even one example would not fit: choose a smaller model")
            + $", or pass {overrideFlag} to run anyway");
    }
}
