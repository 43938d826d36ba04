using System.CommandLine;
using Diffusion.Training.Loop;
using Diffusion.Training.Plots;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary><c>diffusion plot RUN [--out loss.png]</c>: draws the loss and learning-rate curves of a run's metrics.jsonl.</summary>
public static class PlotCommand
{
    private static readonly Argument<string> RunDir = new("run") { Description = $"A run directory (holding {MetricsLog.FileName}) or a metrics file" };
    private static readonly Option<string?> Out = new("--out") { Description = "The PNG to write (default RUN/loss.png)" };

    public static Command Create()
    {
        var command = CliSupport.Command("plot", "Plot a run's loss and learning rate from its metrics.jsonl", Run, Out);
        command.Arguments.Add(RunDir);
        return command;
    }

    private static int Run(ParseResult r)
    {
        var run = r.GetValue(RunDir)!;
        var file = File.Exists(run) ? run : MetricsLog.PathIn(run);
        var metrics = MetricsLog.Read(file);
        if (metrics.Count == 0) throw new ArgumentException($"'{file}' has no complete metrics line yet");
        var png = r.GetValue(Out) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "loss.png");
        Plots.Loss(png, metrics);
        AnsiConsole.MarkupLine($"plotted {metrics.Count} steps ({metrics[0].Step}–{metrics[^1].Step}) to [bold]{Markup.Escape(png)}[/]");
        return 0;
    }
}
