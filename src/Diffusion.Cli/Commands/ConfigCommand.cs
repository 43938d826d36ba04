using System.CommandLine;
using Diffusion.Architectures;
using Diffusion.Training.Checkpoints;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion config PRESET [--out FILE]</c>: a preset's model config as JSON — exactly what a checkpoint's model.json
/// holds — to edit into a custom model and pass back to <c>summary</c> or <c>train --model</c>.
/// </summary>
public static class ConfigCommand
{
    private static readonly Argument<string> Preset = new("preset") { Description = $"A preset: {string.Join(", ", Presets.Names.Order())}" };
    private static readonly Option<string?> Out = new("--out") { Description = "Write the JSON to this file instead of standard output" };

    public static Command Create()
    {
        var command = CliSupport.Command("config", "Print a preset's model config JSON (as a checkpoint's model.json) to start a custom model from",
            r => Run(r.GetValue(Preset)!, r.GetValue(Out)), Out);
        command.Arguments.Add(Preset);
        return command;
    }

    private static int Run(string preset, string? outFile)
    {
        var json = Presets.Get(preset).ToJson();
        if (outFile is null) Console.Out.WriteLine(json);
        else
        {
            AtomicFile.WriteAllText(outFile, json + "\n");
            CliSupport.Err.MarkupLine($"wrote [bold]{Markup.Escape(outFile)}[/]");
        }
        return 0;
    }
}
