namespace Diffusion.Training.Benchmarks;

/// <summary>What one timed step of a benchmark is.</summary>
public enum BenchmarkKind
{
    /// <summary>Forward + backward + Adam (lr 1e-4) of the continuous VP-SDE denoising-score-matching loss.</summary>
    Train,
    /// <summary>A no-grad forward pass in evaluation mode at network time 500.</summary>
    Forward,
    /// <summary>One Euler–Maruyama step of the reverse VP-SDE (a run is 1000 of them).</summary>
    SampleEm,
}

/// <summary>
/// A benchmark case: a model preset, the batch it runs on, and default warm-up and timed step counts (chosen so a
/// case takes seconds, not minutes, on a 2-core machine). The names and configs are a contract shared with
/// <c>bench/pytorch_reference.py</c>, which runs the same cases in PyTorch.
/// </summary>
public sealed record BenchmarkCase(string Name, string Preset, long[] Batch, BenchmarkKind Kind, int Warmup, int Steps)
{
    public static readonly IReadOnlyList<BenchmarkCase> All =
    [
        new("mlp2d_train_b1024", "mlp-seed", [1024, 2], BenchmarkKind.Train, 50, 500),
        new("unet28_train_b64", "unet28", [64, 1, 28, 28], BenchmarkKind.Train, 3, 15),
        new("dit28_train_b64", "dit28", [64, 1, 28, 28], BenchmarkKind.Train, 3, 15),
        new("unet3d32_train_b2", "unet3d32", [2, 1, 32, 32, 32], BenchmarkKind.Train, 3, 15),
        new("ddpm_cifar10_fwd_b8", "ddpm-cifar10", [8, 3, 32, 32], BenchmarkKind.Forward, 2, 10),
        new("mlp2d_sample_em_n10000", "mlp-seed", [10000, 2], BenchmarkKind.SampleEm, 20, 1000),
    ];

    public static BenchmarkCase Get(string name) =>
        All.FirstOrDefault(c => c.Name == name)
        ?? throw new KeyNotFoundException($"no benchmark case '{name}'; known cases: {string.Join(", ", All.Select(c => c.Name))}");
}
