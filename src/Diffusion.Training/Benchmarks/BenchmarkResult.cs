namespace Diffusion.Training.Benchmarks;

/// <summary>
/// One case's measurement. <see cref="PeakRssMibAtStep100"/> is the process's peak resident set after the 100th step
/// (warm-up included), present for runs that long; with <see cref="PeakRssMib"/> taken at the end, it shows whether
/// native memory stays flat over a long run. <see cref="MacsPerStep"/> counts multiply-accumulates from the layer
/// table (a backward pass as two forwards), so 2·MACs/<see cref="SecondsPerStep"/> is the achieved FLOP rate.
/// <see cref="CpuMapsAtStep100"/> and <see cref="CpuMaps"/> count the blocks the caching CPU allocator had mapped by
/// then (<see cref="Torch.CpuMemoryStats.Maps"/>): equal when every step after the 100th reused the buffers of earlier ones.
/// <see cref="Precision"/> is the run's arithmetic, fp32 or bf16 (README, Precision).
/// </summary>
public sealed record BenchmarkResult(string Impl, string Case, double SecondsPerStep, int Threads, long Params, double PeakRssMib,
    int Steps, int Warmup, double? PeakRssMibAtStep100, double MacsPerStep, long? CpuMapsAtStep100, long CpuMaps, string Precision = "fp32");
