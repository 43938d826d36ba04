using System.Globalization;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

public static partial class torch
{
    /// <summary>
    /// Where the time of a piece of work goes, per operator — what <c>torch.profiler</c>'s <c>key_averages()</c> tells a
    /// PyTorch user, from libtorch's RecordFunction callbacks (no tracing): every ATen operator, autograd node and shim
    /// kernel that runs while <see cref="measure"/>'s body runs, on any thread. Timing adds a few microseconds per
    /// operator, so profile to see shares, and time without it.
    /// </summary>
    public static class profiler
    {
        /// <summary>Runs <paramref name="body"/> under the profiler; the operators by self time, largest first.</summary>
        public static unsafe IReadOnlyList<OpStat> measure(Action body)
        {
            Tensor.Check(dt_profiler_start(), "profiler.measure");
            try
            {
                body();
            }
            finally
            {
                Tensor.Check(dt_profiler_stop(), "profiler.measure");
            }
            return Parse(ReadString(dt_profiler_report));
        }

        /// <summary>The shim's table: one line per operator, "name\tcalls\tself_ns\ttotal_ns".</summary>
        private static List<OpStat> Parse(string table) =>
            table.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .Select(f => new OpStat(f[0], long.Parse(f[1], CultureInfo.InvariantCulture),
                    TimeSpan.FromTicks(long.Parse(f[2], CultureInfo.InvariantCulture) / 100), TimeSpan.FromTicks(long.Parse(f[3], CultureInfo.InvariantCulture) / 100)))
                .OrderByDescending(op => op.Self)
                .ToList();
    }
}
