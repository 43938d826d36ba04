using System.CommandLine;
using Diffusion.Architectures;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Import;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion import diffusers DIR --out RUN [--json]</c>: converts another library's checkpoint into a run directory
/// that <c>sample</c> reads. Each source format is one subcommand built by <see cref="Subcommand"/> from a reader that returns
/// an <see cref="ImportedModel"/>; everything after reading (the summary, writing the run, the errors) is shared.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var command = new Command("import", "Convert a checkpoint from another library into a run directory that `diffusion sample` reads");
        command.Subcommands.Add(Subcommand("diffusers",
            "A diffusers UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors; a pipeline folder with unet/ and scheduler/ also works)",
            DiffusersUNet.Read));
        return command;
    }

    /// <summary>A <c>import NAME SOURCE --out RUN [--json]</c> subcommand reading SOURCE with <paramref name="read"/>.</summary>
    public static Command Subcommand(string name, string sourceDescription, Func<string, ImportedModel> read)
    {
        var source = new Argument<string>("source") { Description = sourceDescription };
        var outDir = new Option<string>("--out") { Description = "The run directory to write (a step-000000 checkpoint and latest)", Required = true };
        var json = CliSupport.JsonOption();
        var command = CliSupport.Command(name, $"Import a {name} checkpoint", r => Run(read, r.GetValue(source)!, r.GetValue(outDir)!, r.GetValue(json)), outDir, json);
        command.Arguments.Add(source);
        return command;
    }

    private static int Run(Func<string, ImportedModel> read, string source, string runDir, bool json)
    {
        ImportedModel imported;
        try
        {
            imported = read(source);
        }
        catch (UnrepresentableException e)
        {
            Console.Error.WriteLine($"error: {e.Origin}: cannot import; {e.Problems.Count} setting{(e.Problems.Count == 1 ? "" : "s")} we cannot represent:");
            foreach (var p in e.Problems) Console.Error.WriteLine($"  {p}");
            if (json) CliSupport.JsonLine(new { ok = false, source = e.Origin, errors = e.Problems });
            return 1;
        }
        using (imported)
        {
            var written = Checkpoint.SaveImported(runDir, imported.Model, imported.Training, imported.Weights, imported.Source);
            var summary = Summarize(imported.Model);
            AnsiConsole.MarkupLine($"imported [bold]{Markup.Escape(imported.Source)}[/]: {imported.ParameterCount:N0} parameters");
            AnsiConsole.MarkupLine($"  model: {Markup.Escape(summary)}");
            AnsiConsole.MarkupLine($"  process: {Markup.Escape(imported.Training.Sde.ToString().ToLowerInvariant())}, {Markup.Escape(imported.Training.Schedule.ToString().ToLowerInvariant())} β schedule, 1000 steps, predicts {Markup.Escape(imported.Model.Target.ToString().ToLowerInvariant())}");
            foreach (var note in imported.Notes) CliSupport.Err.MarkupLine($"note: {Markup.Escape(note)}");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(written)}[/] (model.json, training.json, state.json, model.safetensors = ema.safetensors) and {Markup.Escape(Path.Combine(runDir, Checkpoint.Latest))}");
            if (json) CliSupport.JsonLine(new { ok = true, source = imported.Source, checkpoint = written, parameters = imported.ParameterCount, tensors = imported.Weights.Count, notes = imported.Notes });
        }
        return 0;
    }

    private static string Summarize(ModelConfig config) => config is UNetConfig u
        ? $"unet {string.Join("×", u.Size)}×{u.InChannels}→{u.Out}, channels {u.Channels} × [{string.Join(", ", u.ChannelMult)}], {u.NumResBlocks} res blocks, "
          + $"attention at [{string.Join(", ", u.AttentionResolutions)}]{(u.MidAttention ? " + mid" : "")} ({u.AttentionHeads} head{(u.AttentionHeads == 1 ? "" : "s")}), "
          + $"GroupNorm {u.NormGroups} eps {u.NormEps:G}, padding {u.DownsamplePadding.ToString().ToLowerInvariant()}, sinusoidal flip_sin_to_cos={u.FlipSinToCos.ToString().ToLowerInvariant()} freq_shift={u.FreqShift:G}"
        : config.GetType().Name;
}
