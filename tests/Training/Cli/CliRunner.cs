using System.Diagnostics;

namespace Diffusion.Training.Tests.Cli;

/// <summary>Runs the built <c>diffusion</c> CLI (same configuration as this test assembly).</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        using var running = Start(args);
        return running.Wait();
    }

    /// <summary>Starts the CLI without waiting (signal and lock tests); its output is collected as it comes.</summary>
    public static Running Start(params string[] args) => new(StartProcess(args));

    /// <summary>Starts the CLI with both output streams redirected and unread, for a test that reads them line by line as it runs.</summary>
    public static Process StartProcess(params string[] args)
    {
        var testDir = AppContext.BaseDirectory;                                    // …/tests/Training/bin/<Config>/<tfm>/
        var tfm = new DirectoryInfo(testDir).Name;
        var configuration = new DirectoryInfo(testDir).Parent!.Name;
        var root = Path.GetFullPath(Path.Combine(testDir, "..", "..", "..", "..", ".."));
        var cli = Path.Combine(root, "src", "Diffusion.Cli", "bin", configuration, tfm, "diffusion.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException($"build the CLI first: {cli} is missing", cli);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>A CLI process started by <see cref="Start"/>; disposing it kills it if it still runs.</summary>
    public sealed class Running : IDisposable
    {
        private readonly Task<string> stdout, stderr;

        internal Running(Process process)
        {
            Process = process;
            stdout = process.StandardOutput.ReadToEndAsync();
            stderr = process.StandardError.ReadToEndAsync();
        }

        public Process Process { get; }

        /// <summary>Waits for the process to end (killing it after <paramref name="timeout"/>, if one is given) and returns what it printed.</summary>
        public Result Wait(TimeSpan? timeout = null)
        {
            if (!Process.WaitForExit(timeout ?? Timeout.InfiniteTimeSpan))
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
                throw new TimeoutException($"the CLI did not end in time; stderr: {stderr.Result}");
            }
            return new Result(Process.ExitCode, stdout.Result, stderr.Result);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
