using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Diffusion.Packaging.Tests;

/// <summary>
/// One pack per test run: the solution's packages in a temporary folder feed, and — on first use — the tool installed
/// from it. Everything lives under one temporary root, NuGet's package cache included (NUGET_PACKAGES), so the
/// user's global cache never holds a Diffusion package of the version under test: a stale copy there would be
/// restored instead of the freshly packed one on every later run.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public const string ToolPackageId = "Diffusion.Cli";

    public static readonly string[] LibraryPackageIds =
        ["Diffusion.Torch", "Diffusion.Primitives", "Diffusion.Blocks", "Diffusion.Architectures", "Diffusion.Training"];

    private readonly Lazy<string> toolPath;

    public PackedFeed()
    {
        Root = Directory.CreateTempSubdirectory("diffusion-packaging-").FullName;
        Feed = Path.Combine(Root, "feed");
        // The configuration the tests were built in is the one the libraries were built in (this project builds them).
        var configuration = typeof(PackedFeed).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        // No build: the solution was built already (bootstrap.sh, or this project's reference to the CLI), and a build
        // here would race the other test projects that run at the same time over the same bin/ folders.
        Run(RepoRoot, TimeSpan.FromMinutes(5), "pack", Path.Combine(RepoRoot, "Diffusion.sln"), "-c", configuration, "--no-build",
            "-o", Feed, "-nologo", "-v", "quiet");
        Version = ReadVersion();
        // Sources: this feed only. The library packages up to Diffusion.Architectures depend on nothing but each other
        // (Diffusion.Training also on System.IO.Hashing, see PackageTests) and the tool package carries its dependencies,
        // so a restore of the consumer project that needed anything else would be a packaging bug, not something to fetch.
        NuGetConfig = Path.Combine(Root, "nuget.config");
        File.WriteAllText(NuGetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="diffusion-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        toolPath = new Lazy<string>(InstallTool);
    }

    public string Root { get; }

    public string Feed { get; }

    public string NuGetConfig { get; }

    /// <summary>The version every package was packed at (read from the feed, so the test never restates it).</summary>
    public string Version { get; }

    /// <summary>The folder holding the installed <c>diffusion</c> command.</summary>
    public string ToolPath => toolPath.Value;

    public static string RepoRoot { get; } = FindRepoRoot();

    public string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    private string ReadVersion()
    {
        var prefix = "Diffusion.Torch.";
        var file = Directory.GetFiles(Feed, prefix + "*.nupkg").Select(Path.GetFileNameWithoutExtension).SingleOrDefault()
                   ?? throw new InvalidOperationException($"dotnet pack left no {prefix}*.nupkg in {Feed}: {string.Join(", ", Directory.GetFiles(Feed))}");
        return file![prefix.Length..];
    }

    private string InstallTool()
    {
        var tools = Path.Combine(Root, "tools");
        Run(Root, TimeSpan.FromMinutes(3), "tool", "install", ToolPackageId, "--version", Version, "--tool-path", tools, "--configfile", NuGetConfig);
        return tools;
    }

    /// <summary>Runs dotnet with these arguments; a non-zero exit fails with everything it printed.</summary>
    public ProcessResult Run(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var result = Exec("dotnet", workingDirectory, timeout, arguments);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"dotnet {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.Output}");
        return result;
    }

    /// <summary>Runs a program with the isolated NuGet cache; returns its exit code and output.</summary>
    public ProcessResult Exec(string program, string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // The test host runs under `dotnet test`, whose MSBuild variables would steer a child build; drop them.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["NUGET_PACKAGES"] = Path.Combine(Root, "nuget-packages");
        // No build servers (MSBuild nodes, the compiler server) left behind: they would outlive the test holding its
        // output pipes open, and take memory on a 2-core CI machine.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["NO_COLOR"] = "1";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} ran past {timeout}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Diffusion.sln above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { } // a leftover temp folder is not a test failure
        catch (UnauthorizedAccessException) { }
    }
}

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public string Output => $"stdout:\n{StdOut}\nstderr:\n{StdErr}";
}
