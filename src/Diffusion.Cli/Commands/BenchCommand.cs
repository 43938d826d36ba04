using System.CommandLine;
using System.Globalization;
using Diffusion.Torch;
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
    private static readonly Option<int?> ProfileTop = new Option<int?>("--profile") { Description = "Instead of timing, profile the timed steps per operator and print the N largest by self time (ms per step)" }.Within(1, 100_000);
    private static readonly Option<bool> Json = new("--json") { Description = "One JSON line per case: case, seconds_per_step, threads, params, peak_rss_mib, …" };

    public static Command Create() => CliSupport.Command("bench", "Time the benchmark cases (compare with bench/pytorch_reference.py)", Run, Case, Threads, Warmup, Steps, PrecisionFlag, ProfileTop, Json);

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
            if (r.GetValue(ProfileTop) is { } top)
            {
                var measured = steps ?? c.Steps;
                var ops = BenchmarkRunner.Profile(c, threads, warmup, steps, precision);
                if (r.GetValue(Json)) CliSupport.JsonLine(new { @case = c.Name, precision = PrecisionNames.Names.Name(precision), steps = measured, threads = torch.get_num_threads(),
                    ops = ops.Take(top).Select(op => new { name = op.Name, calls_per_step = (double)op.Calls / measured, self_ms_per_step = op.Self.TotalMilliseconds / measured, total_ms_per_step = op.Total.TotalMilliseconds / measured }) });
                else Console.Out.Write(ProfileTable(c.Name, ops, top, measured));
                continue;
            }
            var result = BenchmarkRunner.Run(c, threads, warmup, steps, precision);
            if (r.GetValue(Json)) CliSupport.JsonLine(result);
            else Console.Out.WriteLine(Describe(result));
        }
        return 0;
    }

    /// <summary>The <paramref name="top"/> operators by self time, per step, with each one's share of all self time.</summary>
    private static string ProfileTable(string name, IReadOnlyList<OpStat> ops, int top, int steps)
    {
        var all = ops.Sum(op => op.Self.TotalMilliseconds);
        var text = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {all / steps:F2} ms/step in profiled operators ({steps} steps, {torch.get_num_threads()} thread{(torch.get_num_threads() == 1 ? "" : "s")})\n{"self ms",9} {"share",6} {"total ms",9} {"calls",7}  operator\n"));
        foreach (var op in ops.Take(top))
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{op.Self.TotalMilliseconds / steps,9:F3} {op.Self.TotalMilliseconds / all,6:P1} {op.Total.TotalMilliseconds / steps,9:F3} {(double)op.Calls / steps,7:F1}  {op.Name}\n"));
        return text.ToString();
    }

    private static string Describe(BenchmarkResult b) => string.Create(CultureInfo.InvariantCulture,
        $"{b.Case,-24} {b.Precision} {b.SecondsPerStep * 1e3,10:F3} ms/step  {b.Threads} thread{(b.Threads == 1 ? "" : "s")}  {b.Params,12:N0} params  peak RSS {b.PeakRssMib:F0} MiB  ({b.Warmup} warm-up + {b.Steps} timed steps)");
}
