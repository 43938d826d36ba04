using System.CommandLine;
using System.Diagnostics;
using Diffusion.Torch;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Loop;
using Diffusion.Training.Plots;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion inpaint --checkpoint DIR [--data D] --mask center|left-half|random:P [--n N] [--steps S] [--seed K]
/// [--out FILE.png] [--json]</c>: draws N fresh examples, hides the masked region, fills it with score_sde's PC inpainter
/// (<see cref="Inpainting"/>) and reports the RMSE over the filled and over the known region.
/// </summary>
public static class InpaintCommand
{
    private static readonly Option<string> CheckpointDir = new("--checkpoint") { Description = "A run directory (its latest checkpoint is used) or one step-* checkpoint directory", Required = true };
    private static readonly Option<string?> Data = new("--data") { Description = "Where the examples come from (default: the run's data set)" };
    private static readonly Option<string> Mask = new("--mask") { Description = $"Region to fill: {MaskSpec.Names.Help}", Required = true };
    private static readonly Option<int> N = new Option<int>("--n") { Description = "Number of examples", DefaultValueFactory = _ => 8 }.Within(1, 10_000);
    private static readonly Option<int> Steps = new Option<int>("--steps") { Description = "Predictor–corrector steps (2 network evaluations each)", DefaultValueFactory = _ => 500 }.Within(1, 1_000_000);
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed: sampler K, data K + 1, random mask K + 2", DefaultValueFactory = _ => 0UL };
    private static readonly Option<string?> Out = new("--out") { Description = "Write a PNG of masked | filled | truth panels (central slices for volumes)" };
    private static readonly Option<bool> Raw = new("--raw-weights") { Description = "Use the raw weights instead of the EMA" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() => CliSupport.Command("inpaint", "Fill a masked region of fresh data with a trained continuous-SDE checkpoint", Run,
        CheckpointDir, Data, Mask, N, Steps, Seed, Out, Raw, Json);

    private static int Run(ParseResult r)
    {
        var path = r.GetValue(CheckpointDir)!;
        var dir = CheckpointArgument.Find(path);
        var training = Checkpoint.ReadTrainingConfig(dir);
        var process = training.Process;
        var sde = process.Sde ?? throw new ArgumentException(
            $"inpaint needs a continuous-SDE model (vp, subvp, ve, edm), but the model was trained with {ProcessKinds.Names.Name(process.Kind)}");
        var mask = MaskSpec.Parse(r.GetValue(Mask)!, "--mask");
        var n = r.GetValue(N);
        if (n < 1) throw new UsageException($"--n {n}: need at least one example");
        var steps = r.GetValue(Steps);
        if (steps < 2) throw new UsageException($"--steps {steps}: need at least two");
        var seed = r.GetValue(Seed);

        using var scope = torch.NewDisposeScope();
        using var model = Checkpoint.LoadModel(dir, ema: !r.GetValue(Raw));
        using var source = r.GetValue(Data) is { } d ? DataSources.Resolve(d) : DataSources.Resolve(training.Data);
        if (!source.SampleShape.SequenceEqual(model.Config.InputShape))
            throw new UsageException($"--data {source.Name}: examples of shape [{string.Join(", ", source.SampleShape)}], but the model takes [{string.Join(", ", model.Config.InputShape)}]");
        using var dataGenerator = new Generator(seed + 1);
        var truth = source.Next(n, dataGenerator).X.to(ScalarType.Float32);
        using var maskGenerator = new Generator(seed + 2);
        var m = mask.Make(truth.shape, maskGenerator);

        ThreadPolicy.Apply((double)model.Module.Macs * n);
        var score = ModelFunctions.Score(ModelFunctions.Network(model), process, Predictions.From(model.Target));
        var clock = Stopwatch.StartNew();
        using var g = new Generator(seed);
        using var result = Inpainting.Inpaint(sde, score, truth, m, steps, g);
        var seconds = clock.Elapsed.TotalSeconds;
        var filled = result.Samples;
        NonFiniteValuesException.ThrowIfAny(filled, $"{n} inpainted examples from {dir}");
        var rmseMasked = Inpainting.Rmse(filled, truth, -m + 1);
        var rmseKnown = Inpainting.Rmse(filled, truth, m);
        var fraction = 1 - m.mean().to(ScalarType.Float64).item<double>();
        AnsiConsole.MarkupLine($"inpainted {n} examples of {Markup.Escape(source.Name)} ({mask}, {fraction:P1} unknown), {steps} PC steps ({result.Nfe} network evaluations) in {seconds:F2} s from [bold]{Markup.Escape(dir)}[/]");
        AnsiConsole.MarkupLine($"RMSE over the filled region [bold]{rmseMasked:F4}[/], over the known region {rmseKnown:E2} (the known region returns as α(ε)·x: 1 − α(ε) = {1 - sde.Marginal(1e-3).Alpha:E1})");

        if (r.GetValue(Out) is { } png)
        {
            // masked (hidden region at 0, mid-gray) | filled | truth: one example per row of images, three rows of slices per volume.
            var masked = truth * m;
            var panels = torch.stack([masked, filled, truth], 1).flatten(0, 1);                  // (3N, …)
            if (panels.dim() == 4) Plots.ImageGrid(png, panels, 3, title: "MASKED | FILLED | TRUTH");
            else if (panels.dim() == 5) Plots.VolumeSlices(png, panels, maxVolumes: (int)panels.size(0), title: "ROWS: MASKED, FILLED, TRUTH");
            else throw new UsageException($"--out: cannot plot examples of shape [{string.Join(", ", truth.shape)}] (images or volumes only)");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(png)}[/]");
        }
        if (r.GetValue(Json)) CliSupport.JsonLine(new { n, mask = mask.ToString(), steps, nfe = result.Nfe, seconds = Math.Round(seconds, 3),
            unknown_fraction = fraction, rmse_masked = rmseMasked, rmse_known = rmseKnown });
        return 0;
    }
}
