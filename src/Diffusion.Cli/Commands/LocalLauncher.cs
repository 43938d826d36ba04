using System.Diagnostics;
using Diffusion.Torch;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion train --nproc N …</c>: starts N copies of this command on this machine as ranks 0 … N − 1 (torchrun's
/// variables set, MASTER_ADDR 127.0.0.1 and a free MASTER_PORT), prefixes their output lines with the rank, and waits.
/// When a rank fails, the others stop by themselves (their next collective fails); any still running after
/// <c>grace</c> are killed, so no worker outlives the launcher. The exit code is 0 when every rank succeeded, else 1,
/// with the first rank that failed named. Each rank gets DOTNET_PROCESSOR_COUNT = cores / N (unless set), so that
/// N ranks on one machine do not each start a thread per core.
/// </summary>
public static class LocalLauncher
{
    /// <summary>.NET's override of Environment.ProcessorCount, which <see cref="ThreadPolicy"/> divides the work by.</summary>
    public const string ProcessorCountVar = "DOTNET_PROCESSOR_COUNT";

    public static int Run(int nproc, IReadOnlyList<string> workerArgs, TimeSpan grace)
    {
        var port = torch.distributed.free_port();
        var output = new object();
        var ranks = new List<(int Rank, Process Process)>();
        ConsoleCancelEventHandler onCancel = (_, e) => e.Cancel = true;   // the workers get the Ctrl+C too, stop together and checkpoint
        Console.CancelKeyPress += onCancel;
        try
        {
            for (var rank = 0; rank < nproc; rank++)
            {
                var start = WorkerStart(workerArgs);
                foreach (var (k, v) in new DistributedEnvironment(rank, nproc, rank, "127.0.0.1", port).ToVariables()) start.Environment[k] = v;
                // The ranks share this machine's cores: each sizes its thread pool (ThreadPolicy) for its share, unless told otherwise.
                if (Environment.GetEnvironmentVariable(ProcessorCountVar) is null)
                    start.Environment[ProcessorCountVar] = Math.Max(1, Environment.ProcessorCount / nproc).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var p = new Process { StartInfo = start };
                var prefix = $"[rank {rank}] ";
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) Console.Out.WriteLine(prefix + e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) Console.Error.WriteLine(prefix + e.Data); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                ranks.Add((rank, p));
            }
            (int Rank, int Code)? firstFailure = null;
            Stopwatch? sinceFailure = null;
            var running = ranks.ToList();
            while (running.Count > 0)
            {
                foreach (var (rank, p) in running.Where(r => r.Process.WaitForExit(0)).ToArray())
                {
                    p.WaitForExit();   // drains the redirected output
                    running.Remove((rank, p));
                    if (p.ExitCode != 0 && firstFailure is null)
                    {
                        firstFailure = (rank, p.ExitCode);
                        sinceFailure = Stopwatch.StartNew();
                    }
                }
                if (sinceFailure is not null && sinceFailure.Elapsed > grace)
                {
                    foreach (var (rank, p) in running)
                    {
                        lock (output) Console.Error.WriteLine($"launcher: rank {rank} still running {grace.TotalSeconds:0} s after rank {firstFailure!.Value.Rank} failed: killing it");
                        p.Kill(entireProcessTree: true);
                        p.WaitForExit();
                    }
                    running.Clear();
                }
                Thread.Sleep(50);
            }
            foreach (var (_, p) in ranks) p.Dispose();
            if (firstFailure is not { } failure) return 0;
            Console.Error.WriteLine($"error: rank {failure.Rank} of {nproc} {Describe(failure.Code)}; the other ranks were stopped (resume from the latest checkpoint with --resume)");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            foreach (var (_, p) in ranks)
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // never started or already disposed
                }
        }
    }

    // .NET reports a process ended by signal s as exit code 128 + s.
    private static string Describe(int code) => code > 128 && code < 160
        ? $"was killed by signal {code - 128}{(code - 128 == 9 ? " (SIGKILL)" : "")}"
        : $"failed with exit code {code}";

    /// <summary>This same program: <c>dotnet diffusion.dll</c> when run through the dotnet host, else its own executable.</summary>
    private static ProcessStartInfo WorkerStart(IReadOnlyList<string> args)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }
}
