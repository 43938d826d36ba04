using System.CommandLine;
using System.Globalization;
using Diffusion.Training.Benchmarks;
using Diffusion.Training.Loop;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion bench [--case NAME|all] [--threads N] [--warmup N] [--steps N] [--precision fp32|bf16] [--json]</c>: the side-by-side
/// benchmark cases (see <see cref="BenchmarkCase"/>), timed after warm-up. With <c>--json</c>, one JSON line per case.
/// </summary>
public static class BenchCommand
{
    private static readonly Option<string> Case = new("--case") { Description = $"A case or all: {string.Join(", ", BenchmarkCase.All.Select(c => c.Name))}", DefaultValueFactory = _ => "all" };
    private static readonly Option<int?> Threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: chosen by the thread policy from the work per step)" }.Within(1, 1024);
    private static readonly Option<int?> Warmup = new Option<int?>("--warmup") { Description = "Untimed steps first (default per case)" }.Within(0, 1_000_000);
    private static readonly Option<int?> Steps = new Option<int?>("--steps") { Description = "Timed steps (default per case; EM sampling: steps of one run)" }.Within(1, 10_000_000);
    private static readonly Option<string> PrecisionFlag = new("--precision") { Description = $"{PrecisionNames.Names.Help}", DefaultValueFactory = _ => "fp32" };
    private static readonly Option<bool> Json = new("--json") { Description = "One JSON line per case: case, seconds_per_step, threads, params, peak_rss_mib, …" };

    public static Command Create() => CliSupport.Command("bench", "Time the benchmark cases (compare with bench/pytorch_reference.py)", Run, Case, Threads, Warmup, Steps, PrecisionFlag, Json);

    private static int Run(ParseResult r)
    {
        var name = r.GetValue(Case)!;
        var cases = name == "all" ? BenchmarkCase.All : [BenchmarkCase.Get(name)];
        var (threads, warmup, steps) = (r.GetValue(Threads), r.GetValue(Warmup), r.GetValue(Steps));
        if (threads is < 1) throw new UsageException($"--threads {threads} must be ≥ 1");
        if (warmup is < 0) throw new UsageException($"--warmup {warmup} must be ≥ 0");
        if (steps is < 1) throw new UsageException($"--steps {steps} must be ≥ 1");
        var precision = PrecisionNames.Names.Parse(r.GetValue(PrecisionFlag)!, "--precision");
        foreach (var c in cases)
        {
            var result = BenchmarkRunner.Run(c, threads, warmup, steps, precision);
            if (r.GetValue(Json)) CliSupport.JsonLine(result);
            else Console.Out.WriteLine(Describe(result));
        }
        return 0;
    }

    private static string Describe(BenchmarkResult b) => string.Create(CultureInfo.InvariantCulture,
        $"{b.Case,-24} {b.Precision} {b.SecondsPerStep * 1e3,10:F3} ms/step  {b.Threads} thread{(b.Threads == 1 ? "" : "s")}  {b.Params,12:N0} params  peak RSS {b.PeakRssMib:F0} MiB  ({b.Warmup} warm-up + {b.Steps} timed steps)");
}
