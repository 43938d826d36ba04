namespace Diffusion.Torch;

/// <summary>
/// Chooses libtorch's intra-op thread count from the size of the work, because on small CPUs the
/// wrong choice costs more than anything else. Measured on a 2-core VM with libtorch 1.13 (README, Performance):
/// the mlp-seed training step at batch 1024 (0.1 G multiply-accumulates) takes 2.1–2.4 ms on 1 thread and
/// 2.5–3.3 ms on 2, while an Euler–Maruyama step on 10,000 points (0.37 G) runs 1.3× faster on 2, and U-Net and
/// DiT steps (tens of G) 1.6–1.8× faster. Thread start-up and synchronisation cost a few microseconds per op,
/// which only large kernels amortise.
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
