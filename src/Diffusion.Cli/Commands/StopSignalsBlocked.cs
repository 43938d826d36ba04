using System.Runtime.InteropServices;

namespace Diffusion.Cli.Commands;

/// <summary>
/// Blocks the stop signals (SIGINT, SIGTERM, SIGHUP) on the calling thread until disposed, so the kernel hands them to
/// another thread of the process. Why: the runtime runs its signal handler on whichever thread the kernel picks, and the
/// training thread is nearly always inside malloc/free (tensor buffers, oneDNN scratch). A handler that touches
/// thread-local storage can allocate there (glibc's <c>__tls_get_addr</c> resizes the thread's TLS vector with
/// <c>realloc</c>), and malloc is not reentrant: one SIGTERM in 25–50 corrupted the heap of a training run
/// ("corrupted size vs. prev_size", "double free or corruption", exit 134; cores showed the abort in the training
/// thread's <c>free</c>). The same class of bug as dotnet/runtime#121581. Threads the loop starts (OpenMP, autograd)
/// inherit the mask; the runtime's own threads, started before, take the signal and only write it to a pipe.
/// Linux only; elsewhere this does nothing.
/// </summary>
internal sealed class StopSignalsBlocked : IDisposable
{
    private const int SigBlock = 0, SigSetMask = 2;        // <signal.h> on Linux
    private const int SigSetBytes = 128;                   // sizeof(sigset_t) in glibc
    private static readonly int[] StopSignals = [1, 2, 15]; // SIGHUP, SIGINT, SIGTERM

    private readonly byte[]? previous;
    private readonly int threadId = Environment.CurrentManagedThreadId;

    private StopSignalsBlocked(byte[]? previous) => this.previous = previous;

    /// <summary>Blocks the stop signals on this thread; disposing (on the same thread) restores its earlier mask.</summary>
    public static StopSignalsBlocked OnThisThread()
    {
        if (!OperatingSystem.IsLinux()) return new StopSignalsBlocked(null);
        var set = new byte[SigSetBytes];
        sigemptyset(set);
        foreach (var signal in StopSignals) sigaddset(set, signal);
        var previous = new byte[SigSetBytes];
        var error = pthread_sigmask(SigBlock, set, previous);
        if (error != 0) throw new InvalidOperationException($"pthread_sigmask failed with error {error}");
        return new StopSignalsBlocked(previous);
    }

    public void Dispose()
    {
        if (previous is null) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("the stop signals must be unblocked on the thread that blocked them");
        pthread_sigmask(SigSetMask, previous, null);
    }

    [DllImport("libc")] private static extern int sigemptyset(byte[] set);
    [DllImport("libc")] private static extern int sigaddset(byte[] set, int signal);
    [DllImport("libc")] private static extern int pthread_sigmask(int how, byte[]? set, byte[]? previous);
}
