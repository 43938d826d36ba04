using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Optim;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Losses;
using Diffusion.Training.Distributed;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Loop;

/// <summary>
/// The training loop: Adam/AdamW with linear warm-up, total-norm gradient clipping, EMA of the weights, and
/// checkpoints. Every random draw comes from one of four seeded generators — init, data (batches), noise (t, z and
/// label dropout) and dropout (the network's) — whose states are checkpointed, so on CPU a run is bitwise
/// reproducible and a resumed run reaches the same weights as an uninterrupted one. Side effects stay at the edge:
/// progress goes to an <see cref="IProgress{T}"/>, checkpoints to the run directory given.
/// Given a <see cref="ProcessGroup"/> of several ranks it trains data-parallel (see <see cref="DataParallel"/>): each rank
/// takes its <see cref="BatchShard"/> of the global <see cref="TrainingConfig.Batch"/>, the data and noise generators stay
/// in the same state on every rank, and only the dropout generator is per rank (rank 0's is the one-process one; the
/// others' states are checkpointed too). Rank 0 writes metrics, samples and checkpoints.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Generator dataGen, noiseGen, dropoutGen;
    private readonly IOptimizer optimizer;
    private readonly ScoreMatchingLoss? sdeLoss;
    private readonly DdpmLoss? ddpmLoss;
    private readonly EdmLoss? edmLoss;
    private readonly Tensor[] trainable;
    private readonly string[] trainableNames;
    private readonly DataParallel? parallel;
    private readonly BatchShard shard;
    private readonly IReadOnlyList<Tensor[]> buckets = [];
    private bool stopAgreed;
    private CancellationToken runCancel;
    private double lastLoss = double.NaN, lastLr, lastGradNorm = double.NaN, lastEmaDecay;
    private double secondsBefore; // training time of earlier sessions of this run (from the checkpoint resumed)
    private readonly Stopwatch clock = new();

    /// <param name="group">The ranks to train with (null or a group of one: this process alone).</param>
    public Trainer(ModelConfig modelConfig, TrainingConfig config, IDataSource data, ProcessGroup? group = null)
    {
        var errors = config.Check();
        if (errors.Count > 0) throw new ArgumentException($"training config: {string.Join("; ", errors)}");
        Data = data;
        Config = ResolveSigmaMax(config, data);
        if (Config.LogEvery == 0) Config = Config with { LogEvery = TrainingConfig.AutoLogEvery(Config.Steps) };
        ModelConfig = modelConfig;
        if (modelConfig is IClassConditional { NumClasses: > 0, HasNullClass: false } && config.LabelDropout > 0)
            throw new ArgumentException($"label_dropout={config.LabelDropout} needs a null class, but this model has none (a DiT has one when class_dropout_prob > 0, a U-ViT never); set label_dropout to 0");
        if (Diffusion.Training.Data.TensorDataChecks.AgainstModel(data.Name, data.NumClasses, modelConfig.ClassCount()).FirstOrDefault() is { } classes) throw new ArgumentException(classes);
        if (!modelConfig.InputShape.SequenceEqual(data.SampleShape))
            throw new ArgumentException($"the model takes samples of shape [{string.Join(", ", modelConfig.InputShape)}] but {data.Name} has [{string.Join(", ", data.SampleShape)}]");
        parallel = group is { world_size: > 1 } ? new DataParallel(group) : null;
        shard = parallel?.Shard(Config.Batch) ?? BatchShard.Whole(Config.Batch);
        using (var init = new Generator(Mix(config.Seed, 0))) Model = modelConfig.Build(init);
        // Every rank builds the same initial weights from the seed; the broadcast makes that a guarantee, not an assumption.
        parallel?.BroadcastParameters(Model.Parameters);
        dataGen = new Generator(Mix(config.Seed, 1));
        noiseGen = new Generator(Mix(config.Seed, 2));
        dropoutGen = new Generator(parallel is { Rank: > 0 } p ? Mix(Mix(config.Seed, 3), (ulong)p.Rank) : Mix(config.Seed, 3));
        Prediction = Predictions.From(Model.Target);
        var named = Model.Parameters.Named().Where(p => p.Tensor.requires_grad).ToArray();
        trainable = named.Select(p => p.Tensor).ToArray();
        trainableNames = named.Select(p => p.Name).ToArray();
        if (parallel is not null) buckets = parallel.Buckets(trainable);
        var options = new AdamOptions { lr = Config.Lr, weight_decay = Config.WeightDecay, fused = true }; // one pass per tensor (AdamOptions.fused)
        optimizer = Config.Optimizer == OptimizerKind.AdamW ? new AdamW(trainable, options) : new Adam(trainable, options);
        Ema = new Ema(Model.Parameters, Config.EmaDecay);
        Process = Config.Process;
        if (Process.Preconditioning is { } edm) edmLoss = new EdmLoss(edm, Reduction: Config.Reduction);
        else if (Process.Sde is { } sde) sdeLoss = new ScoreMatchingLoss(sde, Config.Weighting, Config.Reduction, Config.MinSnrGamma);
        else ddpmLoss = new DdpmLoss(Process.Schedule!, Config.Reduction, Config.MinSnrGamma);
    }

    public ModelConfig ModelConfig { get; }
    public TrainingConfig Config { get; }
    public IDataSource Data { get; }
    public IScoreModel Model { get; }
    public Ema Ema { get; }
    public DiffusionProcess Process { get; }
    public Prediction Prediction { get; }

    /// <summary>Optimizer steps taken so far (with <see cref="NonFinitePolicy.Skip"/>, skipped steps count too).</summary>
    public int Step { get; private set; }

    /// <summary>Steps of this session skipped for a non-finite loss or gradient norm (<see cref="NonFinitePolicy.Skip"/>).</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>The checkpoint this trainer wrote last (null before its first).</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>
    /// Bytes of one checkpoint, from the tensors it holds: the weights and their EMA (every parameter) and Adam's two
    /// moments (every trainable parameter); 64 KiB per file more for the safetensors headers and the JSON files.
    /// </summary>
    public long CheckpointBytes => 2 * Model.Parameters.Named().Sum(p => Bytes(p.Tensor)) + 2 * GradientBytes + 8 * 65536;

    /// <summary>This process's rank and the number of ranks (0 and 1 alone).</summary>
    public int Rank => parallel?.Rank ?? 0;
    public int WorldSize => parallel?.WorldSize ?? 1;

    /// <summary>Seconds this process has spent averaging gradients across ranks (0 alone).</summary>
    public double AllReduceSeconds => parallel?.AllReduceSeconds ?? 0;

    /// <summary>Bytes of the gradients one step averages across ranks (float32 trainable parameters).</summary>
    public long GradientBytes => trainable.Sum(Bytes);

    private static long Bytes(Tensor t) => t.numel() * t.dtype.ElementSize();

    /// <summary>Whether the last <see cref="Run"/> ended because a stop was requested (on any rank, agreed by all).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Multiply-accumulates of one training step on this process (forward ≈ 1, backward ≈ 2), for <see cref="ThreadPolicy"/>.</summary>
    public double MacsPerStep => (double)Model.Module.Macs * shard.Count * 3;

    /// <summary>Training time of this run so far, over all sessions (what metrics.jsonl's wall_s and state.json's seconds hold).</summary>
    public double Seconds => secondsBefore + clock.Elapsed.TotalSeconds;

    /// <summary>
    /// One optimizer step; returns the loss. A NaN or infinite loss or gradient norm (the divergence guard) throws
    /// <see cref="NonFiniteValuesException"/> naming the step and the first parameter with a non-finite gradient, the
    /// model, optimizer and EMA untouched — or, with <see cref="NonFinitePolicy.Skip"/>, drops the update, counts the
    /// step as skipped and returns NaN.
    /// </summary>
    public double TrainStep()
    {
        using var scope = torch.NewDisposeScope();
        lastLr = Config.LearningRate(Step);
        lastEmaDecay = Ema.DecayAt(Step);
        foreach (var group in optimizer.param_groups) group.lr = lastLr;
        var global = Data.Next(Config.Batch, dataGen);                                  // the global batch, every rank alike
        var batch = new DataBatch(shard.Slice(global.X), global.Labels is { } l ? shard.Slice(l) : null);
        var conditioning = Conditioning(batch);
        // Mixed precision: the master weights cast once for this step (they move at its end); float32 runs the model itself.
        using var mixed = Config.Precision == Primitives.Precision.FP32 ? null : new PrecisionModel(Model, Config.Precision);
        var network = mixed ?? Model;
        var loss = edmLoss is not null ? edmLoss.Compute(network, batch.X, noiseGen, conditioning, dropoutGen, shard)
            : sdeLoss is not null ? sdeLoss.Compute(network, Prediction, batch.X, noiseGen, conditioning, dropoutGen, shard)
            : ddpmLoss!.Compute(network, Prediction, batch.X, noiseGen, conditioning, dropoutGen, shard);
        loss.backward();
        parallel?.AverageGradients(buckets);
        // The norm (one reduction over every gradient) is taken every step: the divergence guard reads it. With several
        // ranks it is taken after the average, so every rank sees the same norm and takes the same decision.
        var value = (double)loss.item<float>();
        lastGradNorm = GradClip.ClipByTotalNorm(trainable, Config.GradClip);
        if (!double.IsFinite(value) || !double.IsFinite(lastGradNorm))
        {
            var culprit = Array.FindIndex(trainable, t => t.grad is { } g && NonFiniteValuesException.CountNonFinite(g) > 0);
            optimizer.zero_grad();
            var what = $"step {Step + 1} of {Config.Steps}: loss {value}, gradient norm {lastGradNorm}"
                + (culprit >= 0 ? $"; first parameter with a non-finite gradient: {trainableNames[culprit]}"
                    : double.IsFinite(value) ? " (every gradient is finite, but their norm overflows)" : "");
            if (Config.OnNonfinite == NonFinitePolicy.Stop)
                throw new NonFiniteValuesException($"training diverged at {what}. Nothing was written for it: the last checkpoint, if any, stays latest (try a lower lr, check the data, or on_nonfinite=skip)");
            SkippedSteps++;
            Step++;
            if (parallel is not null) (_, stopAgreed) = parallel.CombineStep(double.NaN, runCancel.IsCancellationRequested);
            return double.NaN;
        }
        optimizer.step();
        optimizer.zero_grad();
        Ema.Update(Model.Parameters, Step);
        Step++;
        lastLoss = value;
        if (parallel is not null) (lastLoss, stopAgreed) = parallel.CombineStep(lastLoss, runCancel.IsCancellationRequested);
        return lastLoss;
    }

    /// <summary>
    /// Trains until <see cref="TrainingConfig.Steps"/>, reporting progress every <paramref name="reportEvery"/> steps and
    /// writing a checkpoint into <paramref name="runDir"/> every <see cref="TrainingConfig.CheckpointEvery"/> steps and
    /// at the end (no checkpoints when it is null). <paramref name="stopAfter"/> ends early (tests, interrupted runs).
    /// With a run directory it also appends to its metrics.jsonl every <see cref="TrainingConfig.LogEvery"/> steps (after
    /// cutting the file back to this trainer's step, see <see cref="MetricsLog.TruncateTo"/>) and, for image models,
    /// writes sample grids every <see cref="TrainingConfig.SampleEvery"/> steps.
    /// </summary>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, string? runDir = null, int reportEvery = 25,
        int? stopAfter = null, CancellationToken cancel = default)
    {
        ThreadPolicy.Apply(MacsPerStep);
        var lead = parallel is null || parallel.IsLead;
        if (!lead) progress = null;
        (runCancel, stopAgreed, Stopped) = (cancel, false, false);
        var session = Stopwatch.StartNew();
        clock.Start();
        var startStep = Step;
        var end = Math.Min(Config.Steps, stopAfter ?? int.MaxValue);
        var recent = new Queue<double>();
        if (runDir is not null && lead) MetricsLog.TruncateTo(runDir, Step);
        using var metrics = runDir is null || !lead ? null : new MetricsLog.Writer(runDir);
        var sampling = runDir is not null && lead && Config.SampleEvery > 0 && SampleGrid.Applies(ModelConfig);
        var (lastLogStep, lastLogSeconds) = (Step, Seconds);
        try
        {
            // Alone, a stop request ends the loop at once; with several ranks it is agreed at the end of a step (see
            // DataParallel.CombineStep), so that every rank stops after the same step and can checkpoint together.
            while (Step < end && !(parallel is null ? cancel.IsCancellationRequested : stopAgreed))
            {
                var loss = TrainStep();
                var skipped = !double.IsFinite(loss); // NonFinitePolicy.Skip: no loss to average or log
                if (!skipped) recent.Enqueue(loss);
                if (recent.Count > 100) recent.Dequeue();
                if (metrics is not null && !skipped && (Step % Config.LogEvery == 0 || Step == Config.Steps))
                {
                    var now = Seconds;
                    metrics.Append(new StepMetrics(Step, loss, lastLr, lastGradNorm, lastEmaDecay,
                        (Step - lastLogStep) / Math.Max(1e-9, now - lastLogSeconds), now));
                    (lastLogStep, lastLogSeconds) = (Step, now);
                }
                if (runDir is not null && Config.CheckpointEvery > 0 && Step % Config.CheckpointEvery == 0 && Step < Config.Steps) SaveCheckpoint(runDir);
                if (sampling && (Step % Config.SampleEvery == 0 || Step == Config.Steps)) WriteSamples(runDir!);
                if (progress is not null && (Step % reportEvery == 0 || Step == end))
                {
                    var rate = (Step - startStep) / Math.Max(1e-9, session.Elapsed.TotalSeconds);
                    progress.Report(new TrainingProgress(Step, Config.Steps, loss, rate, session.Elapsed, TimeSpan.FromSeconds((Config.Steps - Step) / Math.Max(rate, 1e-9))));
                }
            }
        }
        finally
        {
            clock.Stop();
            runCancel = default;
        }
        Stopped = Step < end && (parallel is null ? cancel.IsCancellationRequested : stopAgreed);
        // A session that took no step (a finished run resumed) rewrites nothing.
        if (runDir is not null && Step == Config.Steps && Step > startStep) SaveCheckpoint(runDir);
        return new TrainingResult(Step, lastLoss, recent.Count > 0 ? recent.Average() : double.NaN, session.Elapsed.TotalSeconds, SkippedSteps);
    }

    /// <summary>A sample grid from the current EMA weights (not counted as training time; its sampler's thread policy is undone).</summary>
    public string WriteSamples(string runDir)
    {
        var timing = clock.IsRunning;
        clock.Stop();
        try
        {
            return SampleGrid.Write(runDir, Step, ModelConfig, Ema.Weights, Process, Mix(Config.Seed, 5), Config.Precision);
        }
        finally
        {
            ThreadPolicy.Apply(MacsPerStep);
            if (timing) clock.Start();
        }
    }

    /// <summary>
    /// Writes a checkpoint of this step. With several ranks every rank calls it at the same step: rank 0 writes (with every
    /// rank's dropout generator, "dropout.rank&lt;r&gt;" for r &gt; 0), and all wait until it is written.
    /// </summary>
    public string SaveCheckpoint(string runDir)
    {
        using var scope = torch.NewDisposeScope();
        var generators = new Dictionary<string, string>
        {
            ["data"] = Convert.ToBase64String(dataGen.get_state()),
            ["noise"] = Convert.ToBase64String(noiseGen.get_state()),
            ["dropout"] = Convert.ToBase64String(dropoutGen.get_state()),
        };
        if (parallel is null) return Save(runDir, generators);
        var dropouts = parallel.AllGather(dropoutGen.get_state());
        for (var r = 1; r < dropouts.Length; r++) generators[TrainingState.DropoutGenerator(r)] = Convert.ToBase64String(dropouts[r]);
        var path = parallel.IsLead ? Save(runDir, generators) : Path.Combine(runDir, Checkpoint.DirectoryName(Step));
        parallel.Barrier();
        return path;
    }

    private string Save(string runDir, Dictionary<string, string> generators)
    {
        using var opt = optimizer.state_dict();
        var state = new TrainingState(Step, generators, new DataSamplerState(Data.Name, "data"), double.IsFinite(lastLoss) ? lastLoss : null, Seconds, WorldSize);
        return LastCheckpoint = Checkpoint.Save(runDir, ModelConfig, Config, state, WeightCopy.Named(Model.Parameters), Ema.Weights, opt);
    }

    /// <summary>
    /// Continues a run from its latest intact checkpoint (see <see cref="Checkpoint.Find"/>; skipped damaged ones are
    /// named to <paramref name="warn"/>), optionally with a new total of <paramref name="steps"/> (not below the step reached).
    /// </summary>
    public static Trainer Resume(string runDir, IDataSource data, int? steps = null, ProcessGroup? group = null, Action<string>? warn = null) =>
        ResumeFrom(Checkpoint.Find(runDir, warn) ?? throw new DirectoryNotFoundException($"no checkpoint in '{runDir}'"), data, steps, group);

    /// <summary>
    /// Continues a run from the checkpoint directory <paramref name="dir"/> that a caller has already found (and so
    /// verified against its manifest) with <see cref="Checkpoint.Find"/>: its files are not hashed again here.
    /// </summary>
    public static Trainer ResumeFrom(string dir, IDataSource data, int? steps = null, ProcessGroup? group = null)
    {
        var config = Checkpoint.ReadTrainingConfig(dir);
        var state = Checkpoint.ReadState(dir);
        if (steps is { } s)
        {
            if (s < state.Step) throw new ArgumentException($"--steps {s} is below the step the run has reached ({state.Step} in {dir})");
            config = config with { Steps = s };
        }
        var worldSize = group?.world_size ?? 1;
        if (state.WorldSize != worldSize)
            throw new ArgumentException($"the checkpoint {dir} was written by {state.WorldSize} process(es) but this run has {worldSize}: resume with the same number of processes (--nproc {state.WorldSize})");
        var trainer = new Trainer(Checkpoint.ReadModelConfig(dir), config, data, group);
        try
        {
            trainer.Load(dir);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    private void Load(string dir)
    {
        using var scope = torch.NewDisposeScope();
        var state = Checkpoint.ReadState(dir);
        if (state.DataSampler.Source != Data.Name)
            throw new ArgumentException($"the checkpoint was trained on '{state.DataSampler.Source}', not '{Data.Name}'");
        WeightCopy.Load(Model.Parameters, Diffusion.Torch.Serialization.Safetensors.Load(Path.Combine(dir, Checkpoint.ModelWeights)));
        Ema.Load(Diffusion.Torch.Serialization.Safetensors.Load(Path.Combine(dir, Checkpoint.EmaWeights)));
        using (var opt = Checkpoint.ReadOptimizer(dir)) optimizer.load_state_dict(opt);
        dataGen.set_state(Convert.FromBase64String(state.Generators["data"]));
        noiseGen.set_state(Convert.FromBase64String(state.Generators["noise"]));
        dropoutGen.set_state(Convert.FromBase64String(state.Generators[TrainingState.DropoutGenerator(Rank)]));
        Step = state.Step;
        lastLoss = state.Loss ?? double.NaN;
        secondsBefore = state.Seconds;
    }

    /// <summary>
    /// Labels for a class-conditional model, with <see cref="TrainingConfig.LabelDropout"/> of them set to the null class.
    /// This is the one place classifier-free label dropout happens: models' forwards are pure functions of the labels
    /// they are given (a DiT's class_dropout_prob only reserves its null-class row). Labels of the data are not passed
    /// to a model that takes none (an unconditional model of labelled images).
    /// </summary>
    private Conditioning? Conditioning(DataBatch batch)
    {
        var classes = Model.Config.ClassCount();
        if (batch.Labels is not { } labels || classes == 0) return null;
        if (Config.LabelDropout <= 0) return new Conditioning(labels);
        var drop = shard.Slice(torch.rand([shard.Total], noiseGen)).lt(Config.LabelDropout);   // drawn for the global batch
        return new Conditioning(torch.where(drop, torch.full_like(labels, classes), labels));
    }

    /// <summary>
    /// σ_max for VE when not given: 50 for images, the largest pairwise distance of 2,000 points for low-dimensional data;
    /// for EDM σ_max 80 and σ_data 0.5 (EDM's), so training.json records what sampling must use.
    /// </summary>
    private static TrainingConfig ResolveSigmaMax(TrainingConfig config, IDataSource data)
    {
        if (config.Sde == ProcessKind.Edm)
            return config with { SigmaMax = config.SigmaMax ?? EdmPreconditioning.SigmaMax, SigmaData = config.SigmaData ?? new EdmPreconditioning().SigmaData };
        if (config.SigmaMax is not null || config.Sde != ProcessKind.Ve) return config;
        if (data.SampleShape.Length > 1) return config with { SigmaMax = 50 };
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(Mix(config.Seed, 4));
        var sigma = VeSde.SigmaMaxFor(data.Next(2000, g).X);
        return config with { SigmaMax = Math.Round(sigma, 3) };
    }

    private static ulong Mix(ulong seed, ulong stream) => seed * 0x9E3779B97F4A7C15UL + stream * 0xBF58476D1CE4E5B9UL + stream;

    public void Dispose()
    {
        optimizer.Dispose();
        Ema.Dispose();
        Model.Dispose();
        dataGen.Dispose();
        noiseGen.Dispose();
        dropoutGen.Dispose();
    }
}
