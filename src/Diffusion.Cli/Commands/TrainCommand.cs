using System.CommandLine;
using Diffusion.Architectures;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Losses;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion train --model &lt;preset|config.json&gt; [--config training.json] [--data …] [one flag per training setting]
/// [--out DIR] [--resume] [--json]</c>: trains with a progress bar on standard error and writes checkpoints, metrics.jsonl
/// and sample grids to DIR (see <see cref="Checkpoint"/>). Every <see cref="TrainingConfig"/> setting has a flag named
/// after its training.json field (<c>warmup_steps</c> → <c>--warmup-steps</c>); flags given override <c>--config</c>,
/// which overrides <see cref="Defaults"/>. Ctrl+C stops after the current step and saves a checkpoint.
/// </summary>
public static class TrainCommand
{
    /// <summary>The settings of a run nobody configured: the record's defaults, with a checkpoint every 1000 steps.</summary>
    public static readonly TrainingConfig Defaults = new() { CheckpointEvery = 1000 };

    private static readonly Option<string> Model = new("--model") { Description = "A preset name (e.g. mlp-seed) or a model config JSON file", Required = true };
    private static readonly Option<string?> ConfigFile = new("--config") { Description = "A training.json to start from (any subset of its fields; unknown fields are errors); flags given override it" };
    private static readonly Option<string?> Out = new("--out") { Description = "Run directory for checkpoints, metrics.jsonl and samples (default runs/<model>-<data>-<sde>)" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its latest checkpoint, with its training.json (only --steps may change)" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    /// <summary>A flag that sets one training setting: its option, and how its value changes a config.</summary>
    private sealed record Setting(Option Option, Func<ParseResult, TrainingConfig, TrainingConfig> Apply);

    private static Setting Text(string name, string description, Func<TrainingConfig, string, string, TrainingConfig> set, params string[] aliases)
    {
        var option = new Option<string?>(name, aliases) { Description = description };
        return new Setting(option, (r, c) => r.GetValue(option) is { } v ? set(c, v, name) : c);
    }

    private static Setting Value<T>(string name, string description, Func<TrainingConfig, T, TrainingConfig> set, params string[] aliases) where T : struct
    {
        var option = new Option<T?>(name, aliases) { Description = description };
        return new Setting(option, (r, c) => r.GetValue(option) is { } v ? set(c, v) : c);
    }

    private static readonly Setting[] Settings =
    [
        Text("--data", $"A data set ({DataSets.Names.Known}), a Fashion-MNIST directory, or a .safetensors file with 'data' (and 'labels'); required unless --config names one",
            (c, v, w) => c with { Data = DataRef.Parse(v, w) }),
        Text("--sde", $"Forward process: {ProcessKinds.Names.Help} (default {ProcessKinds.Names.Name(Defaults.Sde)})", (c, v, w) => c with { Sde = ProcessKinds.Names.Parse(v, w) }),
        Text("--schedule", $"DDPM β schedule: {BetaSchedules.Names.Help} (default {BetaSchedules.Names.Name(Defaults.Schedule)})", (c, v, w) => c with { Schedule = BetaSchedules.Names.Parse(v, w) }),
        Value<int>("--steps", $"Optimizer steps in total (default {Defaults.Steps})", (c, v) => c with { Steps = v }),
        Value<int>("--batch", $"Batch size (default {Defaults.Batch})", (c, v) => c with { Batch = v }),
        Value<double>("--lr", $"Learning rate (default {Defaults.Lr})", (c, v) => c with { Lr = v }),
        Text("--optimizer", $"{OptimizerKinds.Names.Help} (default {OptimizerKinds.Names.Name(Defaults.Optimizer)})", (c, v, w) => c with { Optimizer = OptimizerKinds.Names.Parse(v, w) }),
        Value<double>("--weight-decay", $"Weight decay (default {Defaults.WeightDecay})", (c, v) => c with { WeightDecay = v }),
        Value<int>("--warmup-steps", "Linear learning-rate warm-up steps (default 0: none)", (c, v) => c with { WarmupSteps = v }, "--warmup"),
        Value<double>("--grad-clip", $"Clip the total gradient norm to this (0: no clipping; default {Defaults.GradClip})", (c, v) => c with { GradClip = v }),
        Value<double>("--ema-decay", $"EMA decay of the weights (default {Defaults.EmaDecay})", (c, v) => c with { EmaDecay = v }, "--ema"),
        Value<ulong>("--seed", "Seed of every generator (default 0)", (c, v) => c with { Seed = v }),
        Text("--weighting", $"Loss weighting: {LossWeights.Names.Help} (default {LossWeights.Names.Name(Defaults.Weighting)})", (c, v, w) => c with { Weighting = LossWeights.Names.Parse(v, w) }),
        Text("--reduction", $"Loss reduction within a sample: {LossWeights.Reductions.Help} (default {LossWeights.Reductions.Name(Defaults.Reduction)})", (c, v, w) => c with { Reduction = LossWeights.Reductions.Parse(v, w) }),
        Value<double>("--min-snr-gamma", "Min-SNR-γ loss weighting (default: off)", (c, v) => c with { MinSnrGamma = v }),
        Value<double>("--sigma-max", "VE σ_max (default: 50 for images, the largest pairwise distance of the data otherwise)", (c, v) => c with { SigmaMax = v }),
        Value<int>("--checkpoint-every", $"Steps between checkpoints (0: only at the end; default {Defaults.CheckpointEvery})", (c, v) => c with { CheckpointEvery = v }),
        Value<double>("--label-dropout", $"Class-conditional models: fraction of labels replaced by the null class (default {Defaults.LabelDropout})", (c, v) => c with { LabelDropout = v }),
        Value<int>("--log-every", "Steps between metrics.jsonl lines (default 0: every step up to 10,000 steps, then ≤ 10,000 lines)", (c, v) => c with { LogEvery = v }),
        Value<int>("--sample-every", "Image and volume models: write a 16-sample grid to RUN/samples/ every this many steps and at the end (default 0: never)", (c, v) => c with { SampleEvery = v }),
        Text("--precision", $"Arithmetic of forward and backward: {PrecisionNames.Names.Help} (default {PrecisionNames.Names.Name(Defaults.Precision)})",
            (c, v, w) => c with { Precision = PrecisionNames.Names.Parse(v, w) }),
    ];

    public static Command Create() => CliSupport.Command("train", "Train a score network", Run,
        [Model, ConfigFile, .. Settings.Select(s => s.Option), Out, Resume, Json]);

    /// <summary>The training config of a new run: <see cref="Defaults"/>, then the --config file, then each flag given.</summary>
    private static TrainingConfig Compose(ParseResult r)
    {
        var (config, fromFile) = r.GetValue(ConfigFile) is { } file
            ? TrainingConfigFile.Parse(File.ReadAllText(file), Defaults, file)
            : (Defaults, new HashSet<string>());
        if (r.GetResult(Flag("--data")) is null && !fromFile.Contains("data"))
            throw new ArgumentException("--data is required (or a 'data' field in --config)");
        return Settings.Aggregate(config, (c, s) => s.Apply(r, c));
    }

    private static int Run(ParseResult r)
    {
        var modelName = r.GetValue(Model)!;
        var resume = r.GetValue(Resume);
        Trainer trainer;
        string outDir;
        if (resume)
        {
            // --data and --sde only name the default run directory; the checkpoint's training.json holds the rest.
            var fixedByCheckpoint = Settings.Select(s => s.Option).Prepend(ConfigFile)
                .Where(o => o.Name is not ("--steps" or "--data" or "--sde") && r.GetResult(o) is not null).Select(o => o.Name).ToArray();
            if (fixedByCheckpoint.Length > 0)
                throw new ArgumentException($"--resume continues the checkpoint's training.json; only --steps may change ({string.Join(", ", fixedByCheckpoint)} given)");
            var named = Settings.Aggregate(Defaults, (c, s) => s.Option.Name is "--data" or "--sde" ? s.Apply(r, c) : c);
            outDir = r.GetValue(Out) ?? (r.GetResult(Flag("--data")) is not null ? DefaultRunDir(modelName, named)
                : throw new ArgumentException("--resume needs --out (or the --data, and --sde, that named the run directory)"));
            var dir = Checkpoint.Find(outDir) ?? throw new DirectoryNotFoundException($"--resume: no checkpoint in '{outDir}'");
            using var data = DataSources.Resolve(Checkpoint.ReadTrainingConfig(dir).Data);
            trainer = Trainer.Resume(outDir, data, r.GetValue((Option<int?>)Flag("--steps")));
            CliSupport.Err.MarkupLine($"resuming [bold]{Markup.Escape(outDir)}[/] at step {trainer.Step}");
            return Finish(trainer, outDir, r);
        }
        var config = Compose(r);
        outDir = r.GetValue(Out) ?? DefaultRunDir(modelName, config);
        if (Checkpoint.Find(outDir) is not null) throw new ArgumentException($"'{outDir}' already holds a run: pass --resume to continue it, or choose another --out");
        using (var data = DataSources.Resolve(config.Data))
        {
            trainer = new Trainer(Presets.Resolve(modelName), config, data);
            return Finish(trainer, outDir, r);
        }
    }

    private static string DefaultRunDir(string modelName, TrainingConfig config) => Path.Combine("runs",
        $"{Path.GetFileNameWithoutExtension(modelName)}-{Path.GetFileNameWithoutExtension(config.Data.ToString())}-{ProcessKinds.Names.Name(config.Sde)}");

    private static Option Flag(string name) => Settings.Single(s => s.Option.Name == name).Option;

    private static int Finish(Trainer trainer, string outDir, ParseResult r)
    {
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
