using System.CommandLine;
using Diffusion.Architectures;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion train --model &lt;preset|config.json&gt; --data &lt;dataset|path&gt; [--sde vp|subvp|ve|ddpm] [--steps N] [--batch N]
/// [--lr X] [--ema X] [--seed N] [--out DIR] [--resume] [--json]</c>: trains with a progress bar on standard error and
/// writes checkpoints to DIR (see <see cref="Checkpoint"/>). Ctrl+C stops after the current step and saves a checkpoint.
/// </summary>
public static class TrainCommand
{
    private static readonly Option<string> Model = new("--model") { Description = "A preset name (e.g. mlp-seed) or a model config JSON file", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = $"A data set ({DataSets.Names.Known}), a Fashion-MNIST directory, or a .safetensors file with 'data' (and 'labels')", Required = true };
    private static readonly Option<string> Sde = new("--sde") { Description = $"Forward process: {ProcessKinds.Names.Help}", DefaultValueFactory = _ => ProcessKinds.Names.Name(ProcessKind.Vp) };
    private static readonly Option<int?> Steps = new("--steps") { Description = "Optimizer steps in total (default 8000)" };
    private static readonly Option<int> Batch = new("--batch") { Description = "Batch size", DefaultValueFactory = _ => 512 };
    private static readonly Option<double> Lr = new("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 1e-3 };
    private static readonly Option<double> Ema = new("--ema") { Description = "EMA decay of the weights", DefaultValueFactory = _ => 0.999 };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of every generator", DefaultValueFactory = _ => 0UL };
    private static readonly Option<string?> Out = new("--out") { Description = "Run directory for checkpoints (default runs/<model>-<data>-<sde>)" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its latest checkpoint" };
    private static readonly Option<int> Warmup = new("--warmup") { Description = "Linear learning-rate warm-up steps", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Every = new("--checkpoint-every") { Description = "Steps between checkpoints (0: only at the end)", DefaultValueFactory = _ => 1000 };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() => CliSupport.Command("train", "Train a score network", Run, Model, Data, Sde, Steps, Batch, Lr, Ema, Seed, Out, Resume, Warmup, Every, Json);

    private static int Run(ParseResult r)
    {
        var modelName = r.GetValue(Model)!;
        var dataRef = DataRef.Parse(r.GetValue(Data)!, "--data");
        var sde = ProcessKinds.Names.Parse(r.GetValue(Sde)!, "--sde");
        var outDir = r.GetValue(Out) ?? Path.Combine("runs",
            $"{Path.GetFileNameWithoutExtension(modelName)}-{Path.GetFileNameWithoutExtension(dataRef.ToString())}-{ProcessKinds.Names.Name(sde)}");
        using var data = DataSources.Resolve(dataRef);
        Trainer trainer;
        if (r.GetValue(Resume))
        {
            if (Checkpoint.Find(outDir) is null) throw new DirectoryNotFoundException($"--resume: no checkpoint in '{outDir}'");
            trainer = Trainer.Resume(outDir, data, r.GetValue(Steps));
            CliSupport.Err.MarkupLine($"resuming [bold]{Markup.Escape(outDir)}[/] at step {trainer.Step}");
        }
        else
        {
            if (Checkpoint.Find(outDir) is not null) throw new ArgumentException($"'{outDir}' already holds a run: pass --resume to continue it, or choose another --out");
            var config = new TrainingConfig
            {
                Data = dataRef, Sde = sde, Steps = r.GetValue(Steps) ?? 8000, Batch = r.GetValue(Batch), Lr = r.GetValue(Lr),
                EmaDecay = r.GetValue(Ema), Seed = r.GetValue(Seed), WarmupSteps = r.GetValue(Warmup), CheckpointEvery = r.GetValue(Every),
            };
            trainer = new Trainer(Presets.Resolve(modelName), config, data);
        }
        using (trainer)
        {
            var result = Train(trainer, outDir, "train");
            AnsiConsole.MarkupLine($"trained {result.Steps} steps in {result.Seconds:F1} s, loss {result.RecentMeanLoss:F4} (mean of the last 100); checkpoint [bold]{Markup.Escape(Checkpoint.Find(outDir) ?? outDir)}[/]");
            if (r.GetValue(Json))
                CliSupport.JsonLine(new { final_loss = result.FinalLoss, mean_loss = result.RecentMeanLoss, steps = result.Steps, seconds = Math.Round(result.Seconds, 3), checkpoint = Checkpoint.Find(outDir) });
            return 0;
        }
    }

    /// <summary>Runs the loop under a Spectre progress bar (standard error); Ctrl+C stops and checkpoints.</summary>
    internal static TrainingResult Train(Trainer trainer, string? runDir, string label)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            TrainingResult? result = null;
            CliSupport.Err.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(label, maxValue: trainer.Config.Steps);
                    task.Value = trainer.Step;
                    var progress = new InlineProgress<TrainingProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = $"{label} loss {p.Loss:F4} · {p.StepsPerSecond:F0} steps/s · ETA {p.Eta:mm\\:ss}";
                    });
                    result = trainer.Run(progress, runDir, reportEvery: 25, cancel: cancel.Token);
                });
            if (cancel.IsCancellationRequested && runDir is not null && trainer.Step < trainer.Config.Steps)
            {
                var saved = trainer.SaveCheckpoint(runDir);
                CliSupport.Err.MarkupLine($"interrupted at step {trainer.Step}; saved [bold]{Markup.Escape(saved)}[/] (continue with --resume)");
            }
            return result!;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
