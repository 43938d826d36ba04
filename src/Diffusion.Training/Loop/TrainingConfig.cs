using System.Text.Json;
using System.Text.Json.Serialization;
using Diffusion.Primitives;
using Diffusion.Training.Data;
using Diffusion.Training.Losses;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Loop;

/// <summary>
/// Everything that defines a training run besides the model; stored as <c>training.json</c> in each checkpoint.
/// <see cref="SigmaMax"/> is resolved before training (from the data for VE on low-dimensional sets), so the stored
/// config is the one sampling must use. Names (sde, schedule, optimizer, data, weighting) are typed here; the JSON
/// spelling of each is its <see cref="Names.NameList{T}"/>, which also reads the aliases older files may hold.
/// </summary>
public sealed record TrainingConfig
{
    public DataRef Data { get; init; } = DataSet.Moons;
    public ProcessKind Sde { get; init; } = ProcessKind.Vp;
    /// <summary>DDPM β schedule when <see cref="Sde"/> is ddpm.</summary>
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Linear;
    public int Steps { get; init; } = 8000;
    public int Batch { get; init; } = 512;
    public double Lr { get; init; } = 1e-3;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public double WeightDecay { get; init; }
    /// <summary>Linear LR warm-up from lr/warmup to lr over this many steps (0: none).</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Clip the total gradient norm to this (0: no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    public double EmaDecay { get; init; } = 0.999;
    public ulong Seed { get; init; }
    public Weighting Weighting { get; init; } = Weighting.Sigma2;
    public LossReduction Reduction { get; init; } = LossReduction.Mean;
    public double? MinSnrGamma { get; init; }
    /// <summary>
    /// VE σ_max; null until resolved (50 for images, the largest pairwise distance for low-dimensional data). For EDM the
    /// largest noise level of sampling (default 80, EDM's; training draws σ log-normally, unbounded).
    /// </summary>
    public double? SigmaMax { get; init; }
    /// <summary>EDM's σ_data, the data's standard deviation in the preconditioning (sde edm only; null until resolved to 0.5).</summary>
    public double? SigmaData { get; init; }
    /// <summary>Write a checkpoint every this many steps (0: only at the end).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>
    /// For class-conditional models: the fraction of labels the trainer replaces by the null class (classifier-free
    /// guidance; DiT and Ho &amp; Salimans use 0.1). The only label dropout: models do not drop labels themselves.
    /// </summary>
    public double LabelDropout { get; init; } = 0.1;
    /// <summary>
    /// Append a line to the run's metrics.jsonl every this many steps (and at the last step); 0: chosen from
    /// <see cref="Steps"/> by <see cref="AutoLogEvery"/> when the trainer starts, so training.json holds the cadence used.
    /// </summary>
    public int LogEvery { get; init; }
    /// <summary>For image and volume models: write a grid of samples to RUN/samples/ every this many steps and at the end (0: never).</summary>
    public int SampleEvery { get; init; }
    /// <summary>A step with a NaN or infinite loss or gradient norm stops the run (default) or is skipped.</summary>
    public NonFinitePolicy OnNonfinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>
    /// The arithmetic of the forward and backward (README, Precision): fp32, or bf16 mixed precision with float32 master
    /// weights, optimizer, EMA and checkpoints — so a checkpoint loads and samples under either.
    /// </summary>
    public Precision Precision { get; init; } = Precision.FP32;

    public DiffusionProcess Process => Sde == ProcessKind.Edm
        ? DiffusionProcess.Edm(SigmaMax ?? EdmPreconditioning.SigmaMax, SigmaData ?? new EdmPreconditioning().SigmaData)
        : DiffusionProcess.Create(Sde, SigmaMax ?? 50, Schedule);

    /// <summary>Every problem with the config (empty when valid).</summary>
    public IReadOnlyList<string> Check()
    {
        var errors = new List<string>();
        if (Steps < 1) errors.Add($"steps={Steps} must be ≥ 1");
        if (Batch < 1) errors.Add($"batch={Batch} must be ≥ 1");
        if (!(Lr > 0 && double.IsFinite(Lr))) errors.Add($"lr={Lr} must be finite and > 0");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) errors.Add($"weight_decay={WeightDecay} must be finite and ≥ 0");
        if (!(EmaDecay is >= 0 and < 1)) errors.Add($"ema={EmaDecay} must be in [0, 1)");
        if (WarmupSteps < 0) errors.Add($"warmup_steps={WarmupSteps} must be ≥ 0");
        if (!(GradClip >= 0 && double.IsFinite(GradClip))) errors.Add($"grad_clip={GradClip} must be finite and ≥ 0");
        if (CheckpointEvery < 0) errors.Add($"checkpoint_every={CheckpointEvery} must be ≥ 0");
        if (!(LabelDropout is >= 0 and < 1)) errors.Add($"label_dropout={LabelDropout} must be in [0, 1)");
        if (MinSnrGamma is { } gamma && !(gamma > 0 && double.IsFinite(gamma))) errors.Add($"min_snr_gamma={MinSnrGamma} must be finite and > 0");
        if (LogEvery < 0) errors.Add($"log_every={LogEvery} must be ≥ 0");
        if (SampleEvery < 0) errors.Add($"sample_every={SampleEvery} must be ≥ 0");
        var sigmaMin = Sde == ProcessKind.Edm ? EdmPreconditioning.SigmaMin : 0.01;
        if (SigmaMax is { } sigmaMax && !(sigmaMax > sigmaMin && double.IsFinite(sigmaMax))) errors.Add($"sigma_max={SigmaMax} must be finite and exceed sigma_min={sigmaMin}");
        if (SigmaData is { } d && Sde != ProcessKind.Edm) errors.Add($"sigma_data={d} applies to sde edm only (this run uses {ProcessKinds.Names.Name(Sde)})");
        if (SigmaData is { } sd && !(sd > 0 && double.IsFinite(sd))) errors.Add($"sigma_data={SigmaData} must be finite and > 0");
        if (Sde == ProcessKind.Edm && MinSnrGamma is not null) errors.Add($"min_snr_gamma={MinSnrGamma} does not apply to sde edm, whose loss weight is EDM's λ(σ)");
        if (Sde == ProcessKind.Edm && Weighting != Weighting.Sigma2) errors.Add($"weighting={LossWeights.Names.Name(Weighting)} does not apply to sde edm, whose loss weight is EDM's λ(σ)");
        return errors;
    }

    /// <summary>The learning rate at a 0-based step: linear warm-up, then constant.</summary>
    public double LearningRate(int step) => WarmupSteps > 0 && step < WarmupSteps ? Lr * (step + 1) / WarmupSteps : Lr;

    /// <summary>
    /// The default logging cadence: every step up to 10,000 steps, else the smallest 1, 2 or 5 × 10^k that keeps the
    /// file at ≤ 10,000 lines (~1.5 MB; a 100k-step run logs every 10th step) — enough points for a loss curve.
    /// </summary>
    public static int AutoLogEvery(int steps)
    {
        var raw = Math.Max(1.0, steps / 10_000.0);
        for (var magnitude = 1; ; magnitude *= 10)
            foreach (var m in new[] { 1, 2, 5 })
                if (m * magnitude >= raw) return m * magnitude;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters =
        {
            ProcessKinds.Names.Json, BetaSchedules.Names.Json, OptimizerKinds.Names.Json, LossWeights.Names.Json, LossWeights.Reductions.Json, NonFinitePolicies.Names.Json,
            PrecisionNames.Names.Json,
            new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower),
        },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads training.json; an unknown name is one error naming its JSON path and the known names.</summary>
    public static TrainingConfig FromJson(string json, string source = "training.json")
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingConfig>(json, Json) ?? throw new JsonException($"{source} is empty");
        }
        catch (JsonException e) when (e.Path is not null && !e.Message.Contains(" Path: ", StringComparison.Ordinal))
        {
            throw new JsonException($"{source} {e.Path}: {e.Message}", e.Path, e.LineNumber, e.BytePositionInLine, e);
        }
    }
}
