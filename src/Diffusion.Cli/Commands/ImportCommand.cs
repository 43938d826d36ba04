using System.CommandLine;
using Diffusion.Architectures;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Import;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion import diffusers DIR --out RUN [--json]</c> and <c>diffusion import pytorch FILE.pt --model PRESET|config.json
/// [--key ema] --out RUN [--json]</c>: converts another library's checkpoint into a run directory
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
            (_, dir) => DiffusersUNet.Read(dir)));
        var model = new Option<string>("--model") { Description = "The preset or model-config JSON whose state_dict names the file holds (e.g. dit-xl-2)", Required = true };
        var key = new Option<string?>("--key") { Description = "The dict inside a training checkpoint to load, e.g. ema, model or state.ema (default: the top level)" };
        command.Subcommands.Add(Subcommand("pytorch",
            "A torch.save file (.pt/.pth/.bin, PyTorch ≥ 1.6 zip format) holding a state dict in the official names of DiT, the DDPM U-Net (diffusers' names) or U-ViT",
            (r, file) => PyTorchStateDict.Read(file, Presets.Resolve(r.GetValue(model)!), r.GetValue(key)), model, key));
        return command;
    }

    /// <summary>A <c>import NAME SOURCE [options] --out RUN [--json]</c> subcommand reading SOURCE with <paramref name="read"/>.</summary>
    public static Command Subcommand(string name, string sourceDescription, Func<ParseResult, string, ImportedModel> read, params Option[] options)
    {
        var source = new Argument<string>("source") { Description = sourceDescription };
        var outDir = new Option<string>("--out") { Description = "The run directory to write (a step-000000 checkpoint and latest)", Required = true };
        var json = CliSupport.JsonOption();
        var command = CliSupport.Command(name, $"Import a {name} checkpoint",
            r => Run(file => read(r, file), r.GetValue(source)!, r.GetValue(outDir)!, r.GetValue(json)), [.. options, outDir, json]);
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
            // Only now is --out created: locked (as train locks it), and it must hold no run — an import never replaces a run's latest.
            using var runLock = CheckpointArgument.OpenRunDirectory(runDir);
            if (Checkpoint.HoldsAny(runDir)) throw new ArgumentException($"--out: '{runDir}' already holds a run; choose another --out");
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

    private static string Summarize(ModelConfig config) => config switch
    {
        UNetConfig u => $"unet {string.Join("×", u.Size)}×{u.InChannels}→{u.Out}, channels {u.Channels} × [{string.Join(", ", u.ChannelMult)}], {u.NumResBlocks} res blocks, "
          + $"attention at [{string.Join(", ", u.AttentionResolutions)}]{(u.MidAttention ? " + mid" : "")} ({u.AttentionHeads} head{(u.AttentionHeads == 1 ? "" : "s")}), "
          + $"GroupNorm {u.NormGroups} eps {u.NormEps:G}, padding {u.DownsamplePadding.ToString().ToLowerInvariant()}, sinusoidal flip_sin_to_cos={u.FlipSinToCos.ToString().ToLowerInvariant()} freq_shift={u.FreqShift:G}",
        DiTConfig d => $"dit {d.InputSize}×{d.InputSize}×{d.InChannels}, patch {d.PatchSize}, hidden {d.HiddenSize}, depth {d.Depth}, {d.NumHeads} heads, "
            + $"{d.NumClasses} classes{(d.LearnSigma ? ", learned σ (its variance channels are not used by our samplers)" : "")}",
        _ => config.GetType().Name,
    };
}
