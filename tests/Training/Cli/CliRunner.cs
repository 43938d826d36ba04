using System.Diagnostics;

namespace Diffusion.Training.Tests.Cli;

/// <summary>Runs the built <c>diffusion</c> CLI (same configuration as this test assembly).</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args)
    {
        using var process = Start(args);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Starts the CLI with both output streams redirected, for a test that watches it while it runs.</summary>
    public static Process Start(params string[] args)
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
}
