using System.CommandLine;
using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Metrics;
using Diffusion.Training.Plots;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion sample --checkpoint DIR [--sampler em|pc|ode|heun|ddpm|ddim|edm-heun|edm-sde|dpmpp-2m|dpmpp-2m-sde|unipc]
/// [--grid karras|uniform|logsnr] [--steps N] [--n N] [--seed N] [--guidance W]
/// [--out FILE.png] [--metrics] [--precision fp32|bf16] [--json]</c>: samples from a checkpoint's EMA weights.
/// </summary>
public static class SampleCommand
{
    private static readonly Option<string> CheckpointDir = new("--checkpoint") { Description = "A run directory (its latest checkpoint is used) or one step-* checkpoint directory", Required = true };
    private static readonly Option<string?> Sampler = new("--sampler") { Description = $"{SamplerKinds.Names.Help} (default: em for SDE models, ddpm for DDPM ones)" };
    private static readonly Option<int?> Steps = new("--steps") { Description = "Sampling steps (default 500 for em/pc, 100 for heun/ddim, 1000 for ddpm; ode is adaptive); for the σ-space samplers the number of σ intervals (default 18 for edm-heun, dpmpp-2m, unipc; 50 for edm-sde, dpmpp-2m-sde)" };
    private static readonly Option<string> Grid = new("--grid") { Description = $"σ grid of the σ-space samplers: {SigmaGrids.Names.Help}", DefaultValueFactory = _ => "karras" };
    private static readonly Option<int> N = new("--n") { Description = "Number of samples", DefaultValueFactory = _ => 1000 };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of the sampling generator", DefaultValueFactory = _ => 0UL };
    private static readonly Option<double?> Guidance = new("--guidance") { Description = "Classifier-free guidance weight w (class-conditional models): (1+w)·cond − w·uncond" };
    private static readonly Option<string?> Out = new("--out") { Description = "Write a PNG: a scatter plot (2-D data) or an image grid" };
    private static readonly Option<bool> Metrics = new("--metrics") { Description = "Sliced Wasserstein distance to fresh data (2-D toy sets), per-pixel mean/std agreement (images, volumes)" };
    private static readonly Option<bool> Raw = new("--raw-weights") { Description = "Use the raw weights instead of the EMA" };
    private static readonly Option<double> Tolerance = new("--tol") { Description = "rtol = atol of the adaptive ODE solver", DefaultValueFactory = _ => 1e-5 };
    private static readonly Option<string?> PrecisionFlag = new("--precision") { Description = $"Arithmetic of the network: {PrecisionNames.Names.Help} (default: the run's training precision)" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() => CliSupport.Command("sample", "Draw samples from a trained checkpoint", Run, CheckpointDir, Sampler, Steps, Grid, N, Seed, Guidance, Out, Metrics, Raw, Tolerance, PrecisionFlag, Json);

    private static int Run(ParseResult r)
    {
        var path = r.GetValue(CheckpointDir)!;
        var dir = Checkpoint.Find(path) ?? throw new DirectoryNotFoundException($"no checkpoint in '{path}'");
        var training = Checkpoint.ReadTrainingConfig(dir);
        var process = training.Process;
        var kind = r.GetValue(Sampler) is { } named ? SamplerKinds.Names.Parse(named, "--sampler") : Samplers.Default(process);
        if (Samplers.Incompatibility(kind, process) is { } why) throw new ArgumentException(why);
        var n = r.GetValue(N);
        if (n < 1) throw new ArgumentException($"--n {n}: need at least one sample");
        var steps = r.GetValue(Steps) ?? DefaultSteps(kind);
        var guidance = r.GetValue(Guidance);
        var grid = SigmaGrids.Names.Parse(r.GetValue(Grid)!, "--grid");
        var precision = r.GetValue(PrecisionFlag) is { } p ? PrecisionNames.Names.Parse(p, "--precision") : training.Precision;

        using var scope = torch.NewDisposeScope();
        using var master = Checkpoint.LoadModel(dir, ema: !r.GetValue(Raw));
        using var mixed = precision == Primitives.Precision.FP32 ? null : new PrecisionModel(master, precision); // weights cast once for the whole run
        var model = mixed ?? master;
        int? classes = guidance is null ? null
            : model.Config.ClassCount() is > 0 and var c ? c
            : throw new ArgumentException("--guidance needs a class-conditional model (this one takes no class labels)");
        var clock = Stopwatch.StartNew();
        using var result = Run(model, process, kind, steps, n, r.GetValue(Seed), guidance, classes,
            options: new SamplerOptions(Rtol: r.GetValue(Tolerance), Atol: r.GetValue(Tolerance), Grid: grid));
        var seconds = clock.Elapsed.TotalSeconds;
        var gridNote = Samplers.InSigmaSpace(kind) ? $", {SigmaGrids.Names.Name(grid)} σ grid, {steps} steps" : "";
        AnsiConsole.MarkupLine($"{n} samples with {Samplers.Name(kind)}{gridNote} ({result.Nfe} network evaluations) in {seconds:F2} s from [bold]{Markup.Escape(dir)}[/]");

        double? swd = null;
        ImageStats? imageStats = null;
        var is2d = result.Samples.dim() == 2 && result.Samples.size(1) == 2;
        if (r.GetValue(Metrics))
        {
            using var g = new Generator(r.GetValue(Seed) + 1);
            if (is2d && training.Data is DataRef.Named { Set: var toy } && ToyDatasets.IsToy(training.Data))
            {
                swd = SlicedWasserstein.Distance(result.Samples, ToyDatasets.Sample(toy, n, g), 128, g);
                AnsiConsole.MarkupLine($"sliced Wasserstein distance to fresh {Markup.Escape(training.Data.ToString()!)} data: [bold]{swd:F4}[/]");
            }
            else if (result.Samples.dim() >= 4)
            {
                // Per-pixel mean/std agreement with as many real images as samples, drawn from the training data.
                using var data = DataSources.Resolve(training.Data);
                imageStats = ImageStats.Compute(result.Samples, data.Next(n, g).X);
                AnsiConsole.MarkupLine($"agreement with {Markup.Escape(training.Data.ToString()!)}: {Markup.Escape(imageStats.ToString())}");
            }
            else throw new ArgumentException("--metrics needs a model trained on a 2-D toy set or on images/volumes");
        }
        if (r.GetValue(Out) is { } png)
        {
            if (is2d)
            {
                List<(string, Tensor)> series = [("samples", result.Samples)];
                if (training.Data is DataRef.Named { Set: var toy } && ToyDatasets.IsToy(training.Data))
                    series.Insert(0, ("data", ToyDatasets.Sample(toy, n, new Generator(r.GetValue(Seed) + 2))));
                Plots.Scatter(png, series, $"{Samplers.Name(kind)}, {result.Nfe} NFE", overlay: false);
            }
            else if (result.Samples.dim() == 4) Plots.ImageGrid(png, result.Samples, (int)Math.Ceiling(Math.Sqrt(n)));
            else if (result.Samples.dim() == 5) Plots.VolumeSlices(png, result.Samples);
            else throw new ArgumentException($"--out: cannot plot samples of shape [{string.Join(", ", result.Samples.shape)}]");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(png)}[/]");
        }
        if (r.GetValue(Json)) CliSupport.JsonLine(new { n, seconds = Math.Round(seconds, 3), nfe = result.Nfe, sampler = Samplers.Name(kind),
            grid = Samplers.InSigmaSpace(kind) ? SigmaGrids.Names.Name(grid) : null, steps = kind == SamplerKind.Ode ? (int?)null : steps, swd,
            pixel_mean_rmse = imageStats?.MeanRmse, pixel_std_rmse = imageStats?.StdRmse });
        return 0;
    }

    public static int DefaultSteps(SamplerKind kind) => kind switch
    {
        SamplerKind.EulerMaruyama or SamplerKind.PredictorCorrector => 500,
        SamplerKind.Ddpm => 1000,
        SamplerKind.EdmHeun or SamplerKind.DpmPlusPlus2M or SamplerKind.UniPc => 18,
        SamplerKind.EdmSde or SamplerKind.DpmPlusPlus2MSde => 50,
        _ => 100,
    };

    /// <summary>Samples n points; with guidance, labels cycle over the classes and the null class is the class count.</summary>
    internal static SampleResult Run(IScoreModel model, Training.Sde.DiffusionProcess process, SamplerKind kind, int steps, int n, ulong seed,
        double? guidance, int? classes, IEnumerable<double>? recordAt = null, SamplerOptions? options = null)
    {
        ThreadPolicyForSampling(model, n);
        using var scope = torch.NewDisposeScope();
        var network = guidance is { } w && classes is { } c
            ? ModelFunctions.Guided(model, torch.arange(n) % c, c, w)
            : ModelFunctions.Network(model);
        using var g = new Generator(seed);
        return Samplers.Run(kind, process, network, Predictions.From(model.Target), [n, .. model.Config.InputShape], steps, g, options, recordAt);
    }

    private static void ThreadPolicyForSampling(IScoreModel model, int n) => ThreadPolicy.Apply((double)model.Module.Macs * n);
}
