using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Optim;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Losses;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Loop;

/// <summary>
/// The training loop: Adam/AdamW with linear warm-up, total-norm gradient clipping, EMA of the weights, and
/// checkpoints. Every random draw comes from one of four seeded generators — init, data (batches), noise (t, z and
/// label dropout) and dropout (the network's) — whose states are checkpointed, so on CPU a run is bitwise
/// reproducible and a resumed run reaches the same weights as an uninterrupted one. Side effects stay at the edge:
/// progress goes to an <see cref="IProgress{T}"/>, checkpoints to the run directory given.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Generator dataGen, noiseGen, dropoutGen;
    private readonly IOptimizer optimizer;
    private readonly ScoreMatchingLoss? sdeLoss;
    private readonly DdpmLoss? ddpmLoss;
    private readonly Tensor[] trainable;
    private double lastLoss = double.NaN, lastLr, lastGradNorm = double.NaN, lastEmaDecay;
    private double secondsBefore; // training time of earlier sessions of this run (from the checkpoint resumed)
    private readonly Stopwatch clock = new();

    public Trainer(ModelConfig modelConfig, TrainingConfig config, IDataSource data)
    {
        var errors = config.Check();
        if (errors.Count > 0) throw new ArgumentException($"training config: {string.Join("; ", errors)}");
        Data = data;
        Config = ResolveSigmaMax(config, data);
        if (Config.LogEvery == 0) Config = Config with { LogEvery = TrainingConfig.AutoLogEvery(Config.Steps) };
        ModelConfig = modelConfig;
        if (modelConfig is IClassConditional { NumClasses: > 0, HasNullClass: false } && config.LabelDropout > 0)
            throw new ArgumentException($"label_dropout={config.LabelDropout} needs a null class, but this model has none (a DiT has one when class_dropout_prob > 0); set label_dropout to 0");
        if (!modelConfig.InputShape.SequenceEqual(data.SampleShape))
            throw new ArgumentException($"the model takes samples of shape [{string.Join(", ", modelConfig.InputShape)}] but {data.Name} has [{string.Join(", ", data.SampleShape)}]");
        using (var init = new Generator(Mix(config.Seed, 0))) Model = modelConfig.Build(init);
        dataGen = new Generator(Mix(config.Seed, 1));
        noiseGen = new Generator(Mix(config.Seed, 2));
        dropoutGen = new Generator(Mix(config.Seed, 3));
        Prediction = Predictions.From(Model.Target);
        trainable = Model.Parameters.Named().Select(p => p.Tensor).Where(t => t.requires_grad).ToArray();
        var options = new AdamOptions { lr = Config.Lr, weight_decay = Config.WeightDecay };
        optimizer = Config.Optimizer == OptimizerKind.AdamW ? new AdamW(trainable, options) : new Adam(trainable, options);
        Ema = new Ema(Model.Parameters, Config.EmaDecay);
        Process = Config.Process;
        if (Process.Sde is { } sde) sdeLoss = new ScoreMatchingLoss(sde, Config.Weighting, Config.Reduction, Config.MinSnrGamma);
        else ddpmLoss = new DdpmLoss(Process.Schedule!, Config.Reduction, Config.MinSnrGamma);
    }

    public ModelConfig ModelConfig { get; }
    public TrainingConfig Config { get; }
    public IDataSource Data { get; }
    public IScoreModel Model { get; }
    public Ema Ema { get; }
    public DiffusionProcess Process { get; }
    public Prediction Prediction { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    public int Step { get; private set; }

    /// <summary>Multiply-accumulates of one training step (forward ≈ 1, backward ≈ 2), for <see cref="ThreadPolicy"/>.</summary>
    public double MacsPerStep => (double)Model.Module.Macs * Config.Batch * 3;

    /// <summary>Training time of this run so far, over all sessions (what metrics.jsonl's wall_s and state.json's seconds hold).</summary>
    public double Seconds => secondsBefore + clock.Elapsed.TotalSeconds;

    /// <summary>One optimizer step; returns the loss.</summary>
    public double TrainStep()
    {
        using var scope = torch.NewDisposeScope();
        lastLr = Config.LearningRate(Step);
        lastEmaDecay = Ema.DecayAt(Step);
        foreach (var group in optimizer.param_groups) group.lr = lastLr;
        var batch = Data.Next(Config.Batch, dataGen);
        var conditioning = Conditioning(batch);
        // Mixed precision: the master weights cast once for this step (they move at its end); float32 runs the model itself.
        using var mixed = Config.Precision == Primitives.Precision.FP32 ? null : new PrecisionModel(Model, Config.Precision);
        var network = mixed ?? Model;
        var loss = sdeLoss is not null
            ? sdeLoss.Compute(network, Prediction, batch.X, noiseGen, conditioning, dropoutGen)
            : ddpmLoss!.Compute(network, Prediction, batch.X, noiseGen, conditioning, dropoutGen);
        loss.backward();
        // The norm costs a reduction over every gradient: taken when clipping needs it or the step is logged.
        var logged = (Step + 1) % Config.LogEvery == 0 || Step + 1 == Config.Steps;
        lastGradNorm = Config.GradClip > 0 || logged ? GradClip.ClipByTotalNorm(trainable, Config.GradClip) : double.NaN;
        optimizer.step();
        optimizer.zero_grad();
        Ema.Update(Model.Parameters, Step);
        Step++;
        return lastLoss = loss.item<float>();
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
        var session = Stopwatch.StartNew();
        clock.Start();
        var startStep = Step;
        var end = Math.Min(Config.Steps, stopAfter ?? int.MaxValue);
        var recent = new Queue<double>();
        if (runDir is not null) MetricsLog.TruncateTo(runDir, Step);
        using var metrics = runDir is null ? null : new MetricsLog.Writer(runDir);
        var sampling = runDir is not null && Config.SampleEvery > 0 && SampleGrid.Applies(ModelConfig);
        var (lastLogStep, lastLogSeconds) = (Step, Seconds);
        try
        {
            while (Step < end && !cancel.IsCancellationRequested)
            {
                var loss = TrainStep();
                recent.Enqueue(loss);
                if (recent.Count > 100) recent.Dequeue();
                if (metrics is not null && (Step % Config.LogEvery == 0 || Step == Config.Steps))
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
        }
        if (runDir is not null && Step == Config.Steps) SaveCheckpoint(runDir);
        return new TrainingResult(Step, lastLoss, recent.Count > 0 ? recent.Average() : double.NaN, session.Elapsed.TotalSeconds);
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

    public string SaveCheckpoint(string runDir)
    {
        using var scope = torch.NewDisposeScope();
        using var opt = optimizer.state_dict();
        var state = new TrainingState(Step, new Dictionary<string, string>
        {
            ["data"] = Convert.ToBase64String(dataGen.get_state()),
            ["noise"] = Convert.ToBase64String(noiseGen.get_state()),
            ["dropout"] = Convert.ToBase64String(dropoutGen.get_state()),
        }, new DataSamplerState(Data.Name, "data"), lastLoss, Seconds);
        return Checkpoint.Save(runDir, ModelConfig, Config, state, WeightCopy.Named(Model.Parameters), Ema.Weights, opt);
    }

    /// <summary>Continues a run from its latest complete checkpoint (see <see cref="Checkpoint.Find"/>).</summary>
    public static Trainer Resume(string runDir, IDataSource data, int? steps = null)
    {
        var dir = Checkpoint.Find(runDir) ?? throw new DirectoryNotFoundException($"no checkpoint in '{runDir}'");
        var config = Checkpoint.ReadTrainingConfig(dir);
        if (steps is { } s) config = config with { Steps = s };
        var trainer = new Trainer(Checkpoint.ReadModelConfig(dir), config, data);
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
        dropoutGen.set_state(Convert.FromBase64String(state.Generators["dropout"]));
        Step = state.Step;
        lastLoss = state.Loss;
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
        var drop = torch.rand([labels.shape[0]], noiseGen).lt(Config.LabelDropout);
        return new Conditioning(torch.where(drop, torch.full_like(labels, classes), labels));
    }

    /// <summary>σ_max for VE when not given: 50 for images, the largest pairwise distance of 2,000 points for low-dimensional data.</summary>
    private static TrainingConfig ResolveSigmaMax(TrainingConfig config, IDataSource data)
    {
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
