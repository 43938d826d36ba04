using System.Text;
using System.Text.Json;
using Diffusion.Training.Checkpoints;

namespace Diffusion.Training.Loop;

/// <summary>
/// One line of a run's <c>metrics.jsonl</c>: the step (1-based, after the update), its loss, the learning rate and EMA
/// decay it used, the total gradient norm before clipping, the steps per second since the previous line, and the
/// training time since the run started (continued across resumes).
/// </summary>
public sealed record StepMetrics(int Step, double Loss, double Lr, double GradNorm, double EmaDecay, double StepsPerS, double WallS);

/// <summary>
/// <c>RUN/metrics.jsonl</c>: one JSON object per logged step, appended and flushed line by line so <c>tail -f</c> shows
/// progress. The file always describes one history: before a run continues from step S, <see cref="TruncateTo"/> keeps
/// only the complete lines with step ≤ S (rewritten atomically), so lines a killed run wrote after its last checkpoint,
/// or a line torn by the kill, never appear twice or half.
/// </summary>
public static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string PathIn(string runDir) => Path.Combine(runDir, FileName);

    public static string ToLine(StepMetrics m) => JsonSerializer.Serialize(m, Options);

    /// <summary>A line as written, or null for a torn or foreign one.</summary>
    public static StepMetrics? Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<StepMetrics>(line, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The complete lines of <paramref name="text"/>: a last line without its newline was cut off mid-write.</summary>
    private static IEnumerable<string> CompleteLines(string text)
    {
        var lines = text.Split('\n');
        return lines.Take(lines.Length - 1).Where(l => l.Length > 0);
    }

    /// <summary>Every complete line of a metrics file, in order; a torn last line is left out.</summary>
    public static IReadOnlyList<StepMetrics> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no metrics file '{path}' (a run writes {FileName} as it trains)", path);
        var metrics = new List<StepMetrics>();
        var number = 0;
        foreach (var line in CompleteLines(File.ReadAllText(path)))
        {
            number++;
            metrics.Add(Parse(line) ?? throw new InvalidDataException($"{path}:{number}: not a metrics line: {Truncated(line)}"));
        }
        return metrics;
    }

    /// <summary>
    /// Rewrites the run's metrics file (atomically) to its complete lines with step ≤ <paramref name="step"/>; creates it
    /// empty when missing. Called before a run appends, so a resumed run continues an exact history.
    /// </summary>
    public static void TruncateTo(string runDir, int step)
    {
        Directory.CreateDirectory(runDir);
        var path = PathIn(runDir);
        var text = File.Exists(path) ? File.ReadAllText(path) : "";
        var kept = new StringBuilder();
        foreach (var line in CompleteLines(text))
            if (Parse(line) is { } m && m.Step <= step) kept.Append(line).Append('\n');
        if (!File.Exists(path) || kept.Length != text.Length) AtomicFile.WriteAllText(path, kept.ToString());
    }

    private static string Truncated(string line) => line.Length <= 80 ? line : line[..80] + "…";

    /// <summary>Appends lines to a run's metrics file, flushing each to the operating system.</summary>
    public sealed class Writer(string runDir) : IDisposable
    {
        private readonly StreamWriter stream = new(new FileStream(PathIn(runDir), FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));

        public void Append(StepMetrics m)
        {
            stream.Write(ToLine(m));
            stream.Write('\n');
            stream.Flush();
        }

        public void Dispose() => stream.Dispose();
    }
}
