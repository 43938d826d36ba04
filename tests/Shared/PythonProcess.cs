using System.Diagnostics;
using System.Text;
using Xunit;

namespace Diffusion.Tests;

/// <summary>Runs Debian's python3 on a fixture script: the one place tests start it, wait for it and read its output.</summary>
public static class PythonProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>
    /// <c>python3 args…</c>, waiting at most <paramref name="timeout"/> (then the process tree is killed and the test fails
    /// saying so). Standard output and error are read concurrently, so a chatty script cannot block on a full pipe.
    /// </summary>
    public static Result Run(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Preconditions.Python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"python3 {string.Join(' ', args.Take(1))} did not finish within {timeout}");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary><see cref="Run"/>, asserting exit code 0 (the message carries the script's standard error).</summary>
    public static Result Succeed(TimeSpan timeout, params string[] args)
    {
        var r = Run(timeout, args);
        Assert.True(r.ExitCode == 0, $"python3 {string.Join(' ', args)} failed with exit code {r.ExitCode}:\n{r.Stderr}");
        return r;
    }
}
