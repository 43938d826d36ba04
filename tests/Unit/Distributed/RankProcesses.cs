using System.Diagnostics;
using System.Globalization;

namespace Diffusion.Torch.Tests.Distributed;

/// <summary>Starts tests/DistributedWorker as ranks 0 … N − 1 of one job on loopback (a free port) and collects their output.</summary>
public static class RankProcesses
{
    public sealed record Rank(int Index, int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>The values of the line "key: v1 v2 …".</summary>
        public double[] Values(string key) => Line(key).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        public string Line(string key) =>
            Stdout.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith(key + ": ", StringComparison.Ordinal))?[(key.Length + 2)..]
            ?? throw new KeyNotFoundException($"rank {Index} printed no '{key}:' line; stdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    public static string WorkerDll
    {
        get
        {
            var testDir = AppContext.BaseDirectory;                                      // …/tests/Unit/bin/<Config>/<tfm>/
            var tfm = new DirectoryInfo(testDir).Name;
            var configuration = new DirectoryInfo(testDir).Parent!.Name;
            var dll = Path.GetFullPath(Path.Combine(testDir, "..", "..", "..", "..", "DistributedWorker", "bin", configuration, tfm, "Diffusion.Distributed.Worker.dll"));
            if (!File.Exists(dll)) throw new FileNotFoundException($"build tests/DistributedWorker first: {dll} is missing", dll);
            return dll;
        }
    }

    /// <summary>
    /// Runs <paramref name="ranks"/> of the <paramref name="worldSize"/> ranks (all of them by default) of
    /// <paramref name="scenario"/>; any still running after <paramref name="limit"/> are killed (and reported with exit code −1).
    /// </summary>
    public static Rank[] Run(string scenario, int worldSize, TimeSpan limit, IReadOnlyDictionary<string, string>? env = null, int[]? ranks = null)
    {
        var port = torch.distributed.free_port();
        var started = (ranks ?? Enumerable.Range(0, worldSize).ToArray()).Select(rank =>
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(WorkerDll);
            start.ArgumentList.Add(scenario);
            foreach (var (k, v) in new DistributedEnvironment(rank, worldSize, rank, "127.0.0.1", port).ToVariables()) start.Environment[k] = v;
            foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
            start.Environment["OMP_NUM_THREADS"] = "1";
            var p = Process.Start(start)!;
            return (rank, p, stdout: p.StandardOutput.ReadToEndAsync(), stderr: p.StandardError.ReadToEndAsync());
        }).ToArray();
        var deadline = Stopwatch.StartNew();
        var results = new List<Rank>();
        foreach (var (rank, p, stdout, stderr) in started)
        {
            var left = limit - deadline.Elapsed;
            var exited = p.WaitForExit(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (!exited) p.Kill(entireProcessTree: true);
            p.WaitForExit();
            results.Add(new Rank(rank, exited ? p.ExitCode : -1, stdout.Result, stderr.Result));
            p.Dispose();
        }
        return results.ToArray();
    }
}
