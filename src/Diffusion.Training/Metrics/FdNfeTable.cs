using System.Globalization;
using System.Text;
using System.Text.Json;
using Diffusion.Training.Plots;

namespace Diffusion.Training.Metrics;

/// <summary>One sampler run of an FD-vs-NFE study: what <c>diffusion sample --metrics --json</c> reports (<see cref="Grid"/> for the σ-space samplers).</summary>
public sealed record FdNfePoint(string Sampler, int Steps, int Nfe, double FdFmnist, string? Grid = null)
{
    /// <summary>The series this run belongs to: the sampler, and its σ grid when it has one ("dpmpp-2m, logsnr").</summary>
    public string Series => Grid is null ? Sampler : $"{Sampler}, {Grid}";
}

/// <summary>
/// FD-FMNIST against the number of network evaluations, one series per sampler and σ grid (README, "FD-FMNIST vs NFE"): read from
/// the <c>--json</c> lines of <c>diffusion sample</c> runs, drawn with <see cref="Plots.Plots.LogLog"/> and tabulated.
/// </summary>
public static class FdNfeTable
{
    /// <summary>The JSON objects of <paramref name="path"/> that carry <c>sampler</c>, <c>nfe</c> and <c>fd_fmnist</c>; other lines are skipped.</summary>
    public static IReadOnlyList<FdNfePoint> Read(string path)
    {
        var points = new List<FdNfePoint>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (!line.TrimStart().StartsWith('{')) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var o = doc.RootElement;
                if (!o.TryGetProperty("fd_fmnist", out var fd) || fd.ValueKind != JsonValueKind.Number) continue;
                points.Add(new FdNfePoint(o.GetProperty("sampler").GetString()!, o.TryGetProperty("steps", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0,
                    o.GetProperty("nfe").GetInt32(), fd.GetDouble(), o.TryGetProperty("grid", out var grid) && grid.ValueKind == JsonValueKind.String ? grid.GetString() : null));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{number}: not a `diffusion sample --json` result line: {e.Message}");
            }
        }
        if (points.Count == 0) throw new InvalidDataException($"{path}: no `diffusion sample --metrics --json` lines with fd_fmnist");
        return points;
    }

    private static IEnumerable<IGrouping<string, FdNfePoint>> BySampler(IReadOnlyList<FdNfePoint> points) => points.GroupBy(p => p.Series);

    public static Canvas Plot(IReadOnlyList<FdNfePoint> points) =>
        Plots.Plots.LogLog(BySampler(points).Select(g =>
        {
            var sorted = g.OrderBy(p => p.Nfe).ToArray();
            return (g.Key, sorted.Select(p => (double)p.Nfe).ToArray(), sorted.Select(p => p.FdFmnist).ToArray());
        }).ToList(), "FD-FMNIST VS NFE", "NETWORK EVALUATIONS (NFE)", "FD-FMNIST");

    /// <summary>A markdown table: one row per sampler, its runs as "FD (NFE)" cells in order of NFE.</summary>
    public static string Markdown(IReadOnlyList<FdNfePoint> points)
    {
        var groups = BySampler(points).Select(g => (g.Key, Runs: g.OrderBy(p => p.Nfe).ToArray())).ToList();
        var columns = groups.Max(g => g.Runs.Length);
        var text = new StringBuilder();
        text.AppendLine($"| sampler | {string.Join(" | ", Enumerable.Range(1, columns).Select(_ => "FD-FMNIST (NFE)"))} |");
        text.AppendLine($"|---|{string.Concat(Enumerable.Repeat("---|", columns))}");
        foreach (var (sampler, runs) in groups)
            text.AppendLine($"| {sampler} | {string.Join(" | ", runs.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.FdFmnist:F2} ({p.Nfe})")).Concat(Enumerable.Repeat("", columns - runs.Length)))} |");
        return text.ToString();
    }
}
