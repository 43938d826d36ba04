using System.CommandLine;
using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Metrics;
using Diffusion.Training.Plots;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion demo</c>: the README's main job in about a minute on two cores — trains <c>mlp-seed</c> on
/// <c>moons</c> under the VP-SDE, samples with Euler–Maruyama and the probability-flow ODE (RK45), writes
/// data-vs-samples and reverse-trajectory plots, and prints the sliced Wasserstein distances.
/// </summary>
public static class DemoCommand
{
    private static readonly Option<string> Out = new("--out") { Description = "Directory for the plots and the checkpoint", DefaultValueFactory = _ => "demo-out" };
    private static readonly Option<int> Steps = new Option<int>("--steps") { Description = "Training steps", DefaultValueFactory = _ => 6000 }.Within(1, 100_000_000);
    private static readonly Option<int> Batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 512 }.Within(1, 10_000_000);
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of every generator", DefaultValueFactory = _ => 0UL };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() => CliSupport.Command("demo", "Train mlp-seed on moons (VP-SDE), sample with Euler–Maruyama and the probability-flow ODE, plot, and score", Run, Out, Steps, Batch, Seed, Json);

    private static int Run(ParseResult r)
    {
        var clock = Stopwatch.StartNew();
        var outDir = r.GetValue(Out)!;
        var seed = r.GetValue(Seed);
        var run = Path.Combine(outDir, "run");
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        Directory.CreateDirectory(outDir);
        foreach (var (key, value) in InfoCommand.Facts()) CliSupport.Err.MarkupLine($"[grey]{key}: {Markup.Escape(value)}[/]");

        using var scope = torch.NewDisposeScope();
        var config = new TrainingConfig { Data = DataSet.Moons, Sde = ProcessKind.Vp, Steps = r.GetValue(Steps), Batch = r.GetValue(Batch), Lr = 2e-3, WarmupSteps = 100, EmaDecay = 0.999, Seed = seed };
        using var data = DataSources.Resolve(config.Data);
        using var trainer = new Trainer(Presets.Get("mlp-seed"), config, data);
        var (trained, interrupted) = TrainCommand.Train(trainer, run, "mlp-seed on moons");
        if (interrupted is { } code) return code;
        AnsiConsole.MarkupLine($"trained mlp-seed (37,762 parameters) for {trained.Steps} steps at batch {config.Batch} in {trained.Seconds:F1} s ({trained.Steps / trained.Seconds:F0} steps/s), loss {trained.RecentMeanLoss:F4}");

        using var model = Training.Checkpoints.Checkpoint.LoadModel(Training.Checkpoints.Checkpoint.Find(run)!);
        const int n = 5000, emSteps = 500;
        double[] times = [1.0, 0.6, 0.3, 0.15, 0.05, 0.0];
        var em = Timed(() => SampleCommand.Run(model, trainer.Process, SamplerKind.EulerMaruyama, emSteps, n, seed + 10, null, null, recordAt: times));
        var ode = Timed(() => SampleCommand.Run(model, trainer.Process, SamplerKind.Ode, 0, n, seed + 10, null, null,
            new SamplerOptions(Rtol: 1e-3, Atol: 1e-3), recordAt: times)); // score_sde uses 1e-5; 1e-3 is visually the same at a fraction of the NFE
        using var emResult = em.Result;
        using var odeResult = ode.Result;
        using var g = new Generator(seed + 20);
        var fresh = ToyDatasets.Sample(DataSet.Moons, n, g);
        var swdEm = SlicedWasserstein.Distance(emResult.Samples, fresh, 128, g);
        var swdOde = SlicedWasserstein.Distance(odeResult.Samples, fresh, 128, g);
        using var g2 = new Generator(seed + 21);
        var baseline = SlicedWasserstein.Distance(ToyDatasets.Sample(DataSet.Moons, n, g2), fresh, 128, g);

        var samplesPng = Path.Combine(outDir, "samples.png");
        var trajectoryPng = Path.Combine(outDir, "trajectory.png");
        var odeTrajectoryPng = Path.Combine(outDir, "trajectory-ode.png");
        var range = new PlotRange(-1.6, 2.6, -1.6, 2.1);
        Plots.ScatterPanels(samplesPng, [("data", fresh), ($"Euler-Maruyama, {emSteps} steps", emResult.Samples), ($"probability-flow ODE, {odeResult.Nfe} NFE", odeResult.Samples)],
            "mlp-seed on moons (VP-SDE)", range);
        Plots.ScatterPanels(trajectoryPng, emResult.Trajectory.Select(p => ($"t = {p.Time:F2}", p.X)).ToList(), "reverse SDE (Euler-Maruyama)", range);
        Plots.ScatterPanels(odeTrajectoryPng, odeResult.Trajectory.Select(p => ($"t = {p.Time:F2}", p.X)).ToList(), "probability-flow ODE (RK45)", range);

        var table = new Table().AddColumns("sampler", "NFE", "seconds", "sliced Wasserstein to fresh data");
        table.AddRow("Euler–Maruyama", emResult.Nfe.ToString(), $"{em.Seconds:F2}", $"{swdEm:F4}");
        table.AddRow("probability-flow ODE (RK45, tol 1e-3)", odeResult.Nfe.ToString(), $"{ode.Seconds:F2}", $"{swdOde:F4}");
        table.AddRow("[grey]data vs fresh data (noise floor)[/]", "", "", $"[grey]{baseline:F4}[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(samplesPng)}[/], [bold]{Markup.Escape(trajectoryPng)}[/], [bold]{Markup.Escape(odeTrajectoryPng)}[/]; checkpoint in [bold]{Markup.Escape(run)}[/]");
        AnsiConsole.MarkupLine($"demo finished in {clock.Elapsed.TotalSeconds:F1} s");
        if (r.GetValue(Json))
            CliSupport.JsonLine(new
            {
                steps = trained.Steps, final_loss = trained.FinalLoss, train_seconds = Math.Round(trained.Seconds, 3),
                swd_em = swdEm, swd_ode = swdOde, swd_data = baseline, nfe_ode = odeResult.Nfe, seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            });
        return 0;
    }

    private static (T Result, double Seconds) Timed<T>(Func<T> f)
    {
        var clock = Stopwatch.StartNew();
        var result = f();
        return (result, clock.Elapsed.TotalSeconds);
    }
}
