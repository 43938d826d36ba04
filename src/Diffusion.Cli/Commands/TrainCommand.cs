using System.CommandLine;
using System.Runtime.InteropServices;
using System.Globalization;
using Diffusion.Architectures;
using Diffusion.Torch;
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
/// which overrides <see cref="Defaults"/>. Ctrl+C, SIGTERM or SIGHUP stops after the current step, saves a checkpoint
/// and exits 130, 143 or 129. The run directory is checked writable, with room for a checkpoint, and locked (<see cref="RunLock"/>)
/// before the first step (by rank 0 in a data-parallel run).
/// Data-parallel: <c>--nproc N</c> starts N local ranks (<see cref="LocalLauncher"/>); a process started with torchrun's
/// variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT — by the launcher, torchrun, srun …) is one rank of such a job.
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
    private static readonly Option<bool> NoMemoryCheck = CliSupport.NoMemoryCheckOption();
    private static readonly Option<int?> Nproc = new("--nproc") { Description = "Train data-parallel on this many local processes (started by this command; --batch is the global batch, split evenly)" };
    private static readonly Option<string> Backend = new("--backend") { Description = "Collective backend of a data-parallel run: gloo (CPU) or nccl (a CUDA libtorch)", DefaultValueFactory = _ => "gloo" };
    private static readonly Option<double?> DistTimeout = new("--dist-timeout") { Description = $"Seconds a data-parallel rank waits for the others in a collective before failing (default {torch.distributed.DefaultTimeout.TotalSeconds:0})" };
    private static readonly Option<double?> RendezvousTimeout = new("--rendezvous-timeout") { Description = $"Seconds the ranks of a data-parallel run wait for each other to start (default {torch.distributed.DefaultRendezvousTimeout.TotalSeconds:0})" };

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
        // The range is TrainingConfig.Check's, declared once there: the flag alone over the defaults must pass it.
        option.Validators.Add(o => { if (o.GetValueOrDefault<T?>() is { } v && set(Defaults, v).Check() is [var why, ..]) o.AddError($"{name} {v}: {why}"); });
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
        Value<double>("--sigma-max", "VE σ_max (default: 50 for images, the largest pairwise distance of the data otherwise); EDM's largest sampling σ (default 80)", (c, v) => c with { SigmaMax = v }),
        Value<double>("--sigma-data", "EDM's σ_data, the data's standard deviation in the preconditioning (sde edm only; default 0.5)", (c, v) => c with { SigmaData = v }),
        Value<int>("--checkpoint-every", $"Steps between checkpoints (0: only at the end; default {Defaults.CheckpointEvery})", (c, v) => c with { CheckpointEvery = v }),
        Value<double>("--label-dropout", $"Class-conditional models: fraction of labels replaced by the null class (default {Defaults.LabelDropout})", (c, v) => c with { LabelDropout = v }),
        Value<int>("--log-every", "Steps between metrics.jsonl lines (default 0: every step up to 10,000 steps, then ≤ 10,000 lines)", (c, v) => c with { LogEvery = v }),
        Value<int>("--sample-every", "Image and volume models: write a 16-sample grid to RUN/samples/ every this many steps and at the end (default 0: never)", (c, v) => c with { SampleEvery = v }),
        Text("--on-nonfinite", $"A step with a NaN or infinite loss or gradient norm: {NonFinitePolicies.Names.Help} (default {NonFinitePolicies.Names.Name(Defaults.OnNonfinite)})",
            (c, v, w) => c with { OnNonfinite = NonFinitePolicies.Names.Parse(v, w) }),
        Text("--precision", $"Arithmetic of forward and backward: {PrecisionNames.Names.Help} (default {PrecisionNames.Names.Name(Defaults.Precision)})",
            (c, v, w) => c with { Precision = PrecisionNames.Names.Parse(v, w) }),
    ];

    public static Command Create() => CliSupport.Command("train", "Train a score network", Run,
        [Model, ConfigFile, .. Settings.Select(s => s.Option), Out, Resume, Json, NoMemoryCheck, Nproc, Backend, DistTimeout, RendezvousTimeout]);

    /// <summary>The training config of a new run: <see cref="Defaults"/>, then the --config file, then each flag given.</summary>
    private static TrainingConfig Compose(ParseResult r)
    {
        var (config, fromFile) = r.GetValue(ConfigFile) is { } file
            ? TrainingConfigFile.Parse(File.ReadAllText(file), Defaults, file)
            : (Defaults, new HashSet<string>());
        if (r.GetResult(Flag("--data")) is null && !fromFile.Contains("data"))
            throw new UsageException("--data is required (or a 'data' field in --config)");
        return Settings.Aggregate(config, (c, s) => s.Apply(r, c));
    }

    private static int Run(ParseResult r)
    {
        var backend = r.GetValue(Backend)!;
        if (!torch.distributed.Backends.Contains(backend)) throw new UsageException($"--backend {backend}: expected one of {string.Join(", ", torch.distributed.Backends)}");
        var timeout = Seconds(r.GetValue(DistTimeout), torch.distributed.DefaultTimeout, "--dist-timeout");
        var rendezvous = Seconds(r.GetValue(RendezvousTimeout), torch.distributed.DefaultRendezvousTimeout, "--rendezvous-timeout");
        var job = DistributedEnvironment.FromEnvironment();
        if (r.GetValue(Nproc) is { } nproc)
        {
            if (nproc < 1) throw new UsageException($"--nproc {nproc}: needs at least 1 process");
            if (job is not null && job.WorldSize != nproc)
                throw new UsageException($"--nproc {nproc} but {DistributedEnvironment.WorldSizeVar}={job.WorldSize}: under a launcher that sets the torchrun variables, leave --nproc out");
            // Ranks stop by themselves within the collective timeout of a failure; the launcher waits that long (and a margin) before killing.
            if (job is null && nproc > 1) return LocalLauncher.Run(nproc, WithoutNproc(Environment.GetCommandLineArgs()[1..]), timeout + TimeSpan.FromSeconds(15));
        }
        if (job is null) return Run(r, group: null);
        if (backend == "nccl" || job.WorldSize > 1)
        {
            using var group = torch.distributed.new_group(backend, job.Rank, job.WorldSize, job.MasterAddr, job.MasterPort, timeout, rendezvous);
            Console.Error.WriteLine($"rank {group.rank} of {group.world_size} (pid {Environment.ProcessId}) joined {group.MasterAddr}:{group.MasterPort}");
            return Run(r, group);
        }
        return Run(r, group: null);
    }

    private static TimeSpan Seconds(double? value, TimeSpan fallback, string flag) => value switch
    {
        null => fallback,
        > 0 and < 1e6 => TimeSpan.FromSeconds(value.Value),
        _ => throw new ArgumentException($"{flag} {value.Value.ToString(CultureInfo.InvariantCulture)}: expected a positive number of seconds"),
    };

    /// <summary>The command line without <c>--nproc N</c>, for the workers.</summary>
    private static string[] WithoutNproc(string[] args)
    {
        var kept = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--nproc") i++;
            else if (!args[i].StartsWith("--nproc=", StringComparison.Ordinal)) kept.Add(args[i]);
        }
        return kept.ToArray();
    }

    private static int Run(ParseResult r, ProcessGroup? group)
    {
        var modelName = r.GetValue(Model)!;
        var resume = r.GetValue(Resume);
        string outDir;
        if (resume)
        {
            // --data and --sde only name the default run directory; the checkpoint's training.json holds the rest.
            var fixedByCheckpoint = Settings.Select(s => s.Option).Prepend(ConfigFile)
                .Where(o => o.Name is not ("--steps" or "--data" or "--sde") && r.GetResult(o) is not null).Select(o => o.Name).ToArray();
            if (fixedByCheckpoint.Length > 0)
                throw new UsageException($"--resume continues the checkpoint's training.json; only --steps may change ({string.Join(", ", fixedByCheckpoint)} given)");
            var named = Settings.Aggregate(Defaults, (c, s) => s.Option.Name is "--data" or "--sde" ? s.Apply(r, c) : c);
            outDir = r.GetValue(Out) ?? (r.GetResult(Flag("--data")) is not null ? DefaultRunDir(modelName, named)
                : throw new UsageException("--resume needs --out (or the --data, and --sde, that named the run directory)"));
            var steps = r.GetValue((Option<int?>)Flag("--steps"));
            // A finished run is reported before anything is locked or opened for writing: resuming it changes no file.
            var found = CheckpointArgument.Find(outDir);
            var reached = Checkpoint.ReadState(found).Step;
            var target = steps ?? Checkpoint.ReadTrainingConfig(found).Steps;
            if (reached == target)
            {
                Console.Error.WriteLine($"'{outDir}' is finished: {found} is at step {reached} of {target}; nothing to do (pass --steps N > {reached} to train on)");
                return 0;
            }
            using var runLock = IsLead(group) ? CheckpointArgument.OpenRunDirectory(outDir) : null;
            // Found again under the lock (a writer may have finished in between); its warnings were printed above.
            var dir = Checkpoint.Find(outDir) ?? throw new DirectoryNotFoundException($"--resume: no checkpoint in '{outDir}'");
            using var data = DataSources.Resolve(Checkpoint.ReadTrainingConfig(dir).Data);
            CheckMemory(Checkpoint.ReadModelConfig(dir), Checkpoint.ReadTrainingConfig(dir).Batch, group, r);
            var trainer = Trainer.ResumeFrom(dir, data, steps, group);
            if (trainer.Rank == 0) CliSupport.Err.MarkupLine($"resuming [bold]{Markup.Escape(outDir)}[/] at step {trainer.Step}");
            return Finish(trainer, outDir, r);
        }
        var config = Compose(r);
        outDir = r.GetValue(Out) ?? DefaultRunDir(modelName, config);
        using (IsLead(group) ? CheckpointArgument.OpenRunDirectory(outDir) : null)
        {
            if (Checkpoint.HoldsAny(outDir)) throw new ArgumentException($"'{outDir}' already holds a run: pass --resume to continue it, or choose another --out");
            using var data = DataSources.Resolve(config.Data);
            var model = Presets.Resolve(modelName);
            CheckMemory(model, config.Batch, group, r);
            return Finish(new Trainer(model, config, data, group), outDir, r);
        }
    }

    /// <summary>
    /// Pre-flight: refuse a run whose estimate from the plan exceeds the memory available (after the data is loaded);
    /// a data-parallel rank holds its shard of the batch.
    /// </summary>
    private static void CheckMemory(ModelConfig model, int batch, ProcessGroup? group, ParseResult r)
    {
        if (model.Check() is { Count: > 0 } problems) throw new Diffusion.Primitives.ConfigException(problems);
        var estimate = MemoryEstimate.ForTraining(model, Math.Max(1, batch / (group?.world_size ?? 1)));
        if (!r.GetValue(NoMemoryCheck)) estimate.EnsureFits(MemoryEstimate.Available(), "--batch", "--no-memory-check");
        CliSupport.Err.MarkupLine($"[grey]{Markup.Escape(estimate.ToString())}[/]");
    }

    /// <summary>Whether this process writes the run directory: a lone process, or rank 0 of a data-parallel run.</summary>
    private static bool IsLead(ProcessGroup? group) => group is null || group.rank == 0;

    private static string DefaultRunDir(string modelName, TrainingConfig config) => Path.Combine("runs",
        $"{Path.GetFileNameWithoutExtension(modelName)}-{Path.GetFileNameWithoutExtension(config.Data.ToString())}-{ProcessKinds.Names.Name(config.Sde)}");

    private static Option Flag(string name) => Settings.Single(s => s.Option.Name == name).Option;

    private static int Finish(Trainer trainer, string outDir, ParseResult r)
    {
        using (trainer)
        {
            if (trainer.Rank == 0) RunDirectory.RequireSpace(outDir, trainer.CheckpointBytes);
            var (result, interrupted) = Train(trainer, outDir, "train");
            if (interrupted is { } code) return code;
            if (trainer.Rank != 0) return 0;   // rank 0 reports for the job
            var checkpoint = trainer.LastCheckpoint ?? Checkpoint.Find(outDir);
            var skipped = result.SkippedSteps > 0 ? $"; {result.SkippedSteps} steps skipped for a non-finite loss or gradient" : "";
            AnsiConsole.MarkupLine($"trained {result.Steps} steps in {result.Seconds:F1} s, loss {result.RecentMeanLoss:F4} (mean of the last 100){skipped}; checkpoint [bold]{Markup.Escape(checkpoint ?? outDir)}[/]");
            if (r.GetValue(Json))
                CliSupport.JsonLine(new
                {
                    final_loss = result.FinalLoss, mean_loss = result.RecentMeanLoss, steps = result.Steps, seconds = Math.Round(result.Seconds, 3),
                    checkpoint, skipped_steps = result.SkippedSteps, world_size = trainer.WorldSize, threads = torch.get_num_threads(),
                    allreduce_seconds = Math.Round(trainer.AllReduceSeconds, 4), gradient_bytes = trainer.GradientBytes,
                });
            return 0;
        }
    }

    /// <summary>The signals that stop a run after its current step with a checkpoint, and the exit code each leaves (128 + its number).</summary>
    private static readonly IReadOnlyDictionary<PosixSignal, int> StopSignals = new Dictionary<PosixSignal, int>
    {
        [PosixSignal.SIGINT] = 130, [PosixSignal.SIGTERM] = 143, [PosixSignal.SIGHUP] = 129,
    };

    /// <summary>
    /// Runs the loop under a Spectre progress bar (standard error). SIGINT (Ctrl+C), SIGTERM or SIGHUP stops it after
    /// the current step and saves a checkpoint; the exit code the signal calls for (130, 143, 129) is returned beside
    /// the result then, null when the run ended by itself. A second signal is not caught: it ends the process at once
    /// (a checkpoint being written is never left half-done: see <see cref="Checkpoint"/>).
    /// </summary>
    internal static (TrainingResult Result, int? InterruptedExitCode) Train(Trainer trainer, string? runDir, string label)
    {
        using var cancel = new CancellationTokenSource();
        PosixSignal? received = null;
        var registrations = StopSignals.Keys.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            lock (cancel)
            {
                if (received is not null) return;
                received = context.Signal;
                context.Cancel = true;
                cancel.Cancel();
            }
        })).ToArray();
        using var offThisThread = StopSignalsBlocked.OnThisThread(); // the handlers run elsewhere, never inside this thread's malloc
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
            // Stopped: a signal here, or a stop on any rank of a data-parallel run (every rank stops after the same step).
            if (trainer.Stopped && trainer.Step < trainer.Config.Steps)
            {
                var saved = runDir is null ? null : trainer.SaveCheckpoint(runDir);
                CliSupport.Err.MarkupLine($"interrupted by {(received is { } signal ? signal : "a stop on another rank")} at step {trainer.Step}"
                    + (saved is null ? "" : $"; saved [bold]{Markup.Escape(saved)}[/] (continue with --resume)"));
                return (result!, StopSignals[received ?? PosixSignal.SIGINT]);
            }
            return (result!, null);
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
        }
    }
}
