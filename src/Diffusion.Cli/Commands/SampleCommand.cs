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
/// [--grid karras|uniform|logsnr] [--sigma-min S] [--sigma-max S] [--rho R] [--steps N] [--n N] [--batch N] [--seed N] [--guidance W]
/// [--out FILE.png] [--metrics] [--precision fp32|bf16] [--json]</c>: samples from a checkpoint's EMA weights.
/// </summary>
public static class SampleCommand
{
    private static readonly Option<string> CheckpointDir = new("--checkpoint") { Description = "A run directory (its latest checkpoint is used) or one step-* checkpoint directory", Required = true };
    private static readonly Option<string?> Sampler = new("--sampler") { Description = $"{SamplerKinds.Names.Help} (default: edm-heun for EDM models, em for other SDE models, ddpm for DDPM ones)" };
    private static readonly Option<int?> Steps = new Option<int?>("--steps") { Description = "Sampling steps (default 500 for em/pc, 100 for heun/ddim, 1000 for ddpm; ode is adaptive); for the σ-space samplers the number of σ intervals (default 18 for edm-heun, dpmpp-2m, unipc; 50 for edm-sde, dpmpp-2m-sde)" }.Within(1, 1_000_000);
    private static readonly Option<string> Grid = new("--grid") { Description = $"σ grid of the σ-space samplers: {SigmaGrids.Names.Help}", DefaultValueFactory = _ => "karras" };
    private static readonly Option<double?> SigmaMin = new Option<double?>("--sigma-min") { Description = "Smallest nonzero σ of the σ grid (default: the process's σ(ε); EDM's 0.002)" }.Within(0, 1e6, minExclusive: true);
    private static readonly Option<double?> SigmaMax = new Option<double?>("--sigma-max") { Description = "Largest σ of the σ grid, where sampling starts (default: the process's σ(1); EDM's 80)" }.Within(0, 1e6, minExclusive: true);
    private static readonly Option<double?> Rho = new Option<double?>("--rho") { Description = "Exponent ρ of the Karras grid (default 7)" }.Within(0, 1000, minExclusive: true);
    private static readonly Option<int> N = new Option<int>("--n") { Description = "Number of samples", DefaultValueFactory = _ => 1000 }.Within(1, int.MaxValue);
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of the sampling generator", DefaultValueFactory = _ => 0UL };
    private static readonly Option<double?> Guidance = new Option<double?>("--guidance") { Description = "Classifier-free guidance weight w (class-conditional models): (1+w)·cond − w·uncond" }.Within(-1, 1000);
    private static readonly Option<string?> Out = new("--out") { Description = "Write a PNG: a scatter plot (2-D data) or an image grid" };
    private static readonly Option<bool> Metrics = new("--metrics") { Description = "Sliced Wasserstein distance to fresh data (2-D toy sets), per-pixel mean/std agreement (images, volumes), FD-FMNIST against as many real test images (Fashion-MNIST)" };
    private static readonly Option<bool> Raw = new("--raw-weights") { Description = "Use the raw weights instead of the EMA" };
    private static readonly Option<double> Tolerance = new Option<double>("--tol") { Description = "rtol = atol of the adaptive ODE solver", DefaultValueFactory = _ => 1e-5 }.Within(0, 0.1, minExclusive: true);
    private static readonly Option<int?> Batch = new Option<int?>("--batch") { Description = $"Samples drawn at a time (default: --n up to {DefaultBatch:N0}); any --n runs in batches of this size in bounded memory" }.Within(1, int.MaxValue);
    private static readonly Option<bool> NoMemoryCheck = CliSupport.NoMemoryCheckOption();
    private static readonly Option<string?> PrecisionFlag = new("--precision") { Description = $"Arithmetic of the network: {PrecisionNames.Names.Help} (default: the run's training precision)" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    /// <summary>The batch when --batch is not given: the default --n, so a default run draws its samples in one batch as before.</summary>
    public const int DefaultBatch = 1000;

    /// <summary>
    /// Samples kept for --out and --metrics: the first this many. Batches beyond are drawn and dropped, so memory stays bounded
    /// whatever --n is (a plot or a metric of more points adds nothing a person can see).
    /// </summary>
    public const int KeptForOutputs = 16_384;

    public static Command Create() => CliSupport.Command("sample", "Draw samples from a trained checkpoint", Run, CheckpointDir, Sampler, Steps, Grid, SigmaMin, SigmaMax, Rho, N, Batch, Seed, Guidance, Out, Metrics, Raw, Tolerance, NoMemoryCheck, PrecisionFlag, Json);

    private static int Run(ParseResult r)
    {
        var path = r.GetValue(CheckpointDir)!;
        var dir = CheckpointArgument.Find(path);
        var training = Checkpoint.ReadTrainingConfig(dir);
        var process = training.Process;
        var kind = r.GetValue(Sampler) is { } named ? SamplerKinds.Names.Parse(named, "--sampler") : Samplers.Default(process);
        if (Samplers.Incompatibility(kind, process) is { } why) throw new UsageException($"--sampler: {why}");
        var n = r.GetValue(N);
        var batch = Math.Min(n, r.GetValue(Batch) ?? DefaultBatch);
        var modelConfig = Checkpoint.ReadModelConfig(dir);
        var estimate = MemoryEstimate.ForSampling(modelConfig, batch);
        if (!r.GetValue(NoMemoryCheck)) estimate.EnsureFits(MemoryEstimate.Available(), "--batch", "--no-memory-check");
        CliSupport.Err.MarkupLine($"[grey]{Markup.Escape(estimate.ToString())}[/]");
        var steps = r.GetValue(Steps) ?? DefaultSteps(kind);
        var guidance = r.GetValue(Guidance);
        var grid = SigmaGrids.Names.Parse(r.GetValue(Grid)!, "--grid");
        var (sigmaMin, sigmaMax, rho) = (r.GetValue(SigmaMin), r.GetValue(SigmaMax), r.GetValue(Rho));
        if ((sigmaMin ?? sigmaMax ?? rho) is not null && !Samplers.InSigmaSpace(kind))
            throw new UsageException($"--sigma-min, --sigma-max and --rho shape the σ grid of the σ-space samplers, not {Samplers.Name(kind)}");
        if (sigmaMin is { } lo && sigmaMax is { } hi && hi <= lo) throw new UsageException($"--sigma-max {hi} must exceed --sigma-min {lo}");
        var precision = r.GetValue(PrecisionFlag) is { } p ? PrecisionNames.Names.Parse(p, "--precision") : training.Precision;

        using var scope = torch.NewDisposeScope();
        using var master = Checkpoint.LoadModel(dir, ema: !r.GetValue(Raw));
        using var mixed = precision == Primitives.Precision.FP32 ? null : new PrecisionModel(master, precision); // weights cast once for the whole run
        var model = mixed ?? master;
        int? classes = guidance is null ? null
            : model.Config is IClassConditional { HasNullClass: false } ? throw new UsageException("--guidance needs a null class, which this model has none of (a DiT has one when class_dropout_prob > 0, a U-ViT never)")
            : model.Config.ClassCount() is > 0 and var c ? c
            : throw new UsageException("--guidance needs a class-conditional model (this one takes no class labels)");
        var clock = Stopwatch.StartNew();
        using var result = Run(model, process, kind, steps, n, r.GetValue(Seed), guidance, classes,
            new SamplerOptions(Rtol: r.GetValue(Tolerance), Atol: r.GetValue(Tolerance), Grid: grid, SigmaMin: sigmaMin, SigmaMax: sigmaMax, Rho: rho), batch);
        var kept = (int)result.Samples.size(0);
        var seconds = clock.Elapsed.TotalSeconds;
        NonFiniteValuesException.ThrowIfAny(result.Samples, $"{n} samples from {dir}");
        var gridNote = Samplers.InSigmaSpace(kind) ? $", {SigmaGrids.Names.Name(grid)} σ grid, {steps} steps" : "";
        AnsiConsole.MarkupLine($"{n} samples{(batch < n ? $" in batches of {batch}" : "")} with {Samplers.Name(kind)}{gridNote} ({result.Nfe} network evaluations) in {seconds:F2} s from [bold]{Markup.Escape(dir)}[/]");

        double? swd = null;
        ImageStats? imageStats = null;
        double? fdFmnist = null;
        var is2d = result.Samples.dim() == 2 && result.Samples.size(1) == 2;
        if (r.GetValue(Metrics))
        {
            using var g = new Generator(r.GetValue(Seed) + 1);
            if (is2d && training.Data is DataRef.Named { Set: var toy } && ToyDatasets.IsToy(training.Data))
            {
                swd = SlicedWasserstein.Distance(result.Samples, ToyDatasets.Sample(toy, kept, g), 128, g);
                AnsiConsole.MarkupLine($"sliced Wasserstein distance to fresh {Markup.Escape(training.Data.ToString()!)} data: [bold]{swd:F4}[/]");
            }
            else if (result.Samples.dim() >= 4)
            {
                // Per-pixel mean/std agreement with as many real images as samples, drawn from the training data.
                using var data = DataSources.Resolve(training.Data);
                imageStats = ImageStats.Compute(result.Samples, data.Next(kept, g).X);
                AnsiConsole.MarkupLine($"agreement with {Markup.Escape(training.Data.ToString()!)}: {Markup.Escape(imageStats.ToString())}");
                if (IsFashionMnist(training.Data, out var fashionDirectory))
                {
                    fdFmnist = FdFmnistAgainstTestImages(result.Samples, fashionDirectory, r.GetValue(Seed));
                    AnsiConsole.MarkupLine($"FD-FMNIST against {Math.Min(n, 10_000)} real test images: [bold]{fdFmnist:F3}[/]");
                }
            }
            else throw new UsageException("--metrics needs a model trained on a 2-D toy set or on images/volumes");
        }
        if (r.GetValue(Out) is { } png)
        {
            if (is2d)
            {
                List<(string, Tensor)> series = [("samples", result.Samples)];
                if (training.Data is DataRef.Named { Set: var toy } && ToyDatasets.IsToy(training.Data))
                    series.Insert(0, ("data", ToyDatasets.Sample(toy, kept, new Generator(r.GetValue(Seed) + 2))));
                Plots.Scatter(png, series, $"{Samplers.Name(kind)}, {result.Nfe} NFE", overlay: false);
            }
            else if (result.Samples.dim() == 4) Plots.ImageGrid(png, result.Samples, (int)Math.Ceiling(Math.Sqrt(kept)));
            else if (result.Samples.dim() == 5) Plots.VolumeSlices(png, result.Samples);
            else throw new UsageException($"--out: cannot plot samples of shape [{string.Join(", ", result.Samples.shape)}]");
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(png)}[/]");
        }
        if (r.GetValue(Json)) CliSupport.JsonLine(new { n, seconds = Math.Round(seconds, 3), nfe = result.Nfe, sampler = Samplers.Name(kind),
            grid = Samplers.InSigmaSpace(kind) ? SigmaGrids.Names.Name(grid) : null, steps = kind == SamplerKind.Ode ? (int?)null : steps, swd,
            pixel_mean_rmse = imageStats?.MeanRmse, pixel_std_rmse = imageStats?.StdRmse, fd_fmnist = fdFmnist });
        return 0;
    }

    /// <summary>Whether a run trained on Fashion-MNIST, and from which folder (null: the default one).</summary>
    private static bool IsFashionMnist(DataRef data, out string? directory)
    {
        directory = data is DataRef.Path { Location: var dir } && Directory.Exists(dir) ? dir : null;
        return data is DataRef.Named { Set: DataSet.FashionMnist } || directory is not null;
    }

    /// <summary>
    /// FD-FMNIST of the samples against as many test images (all 10,000 beyond that), drawn without replacement by a
    /// generator seeded from the sampling seed, in the shipped classifier's feature space.
    /// </summary>
    private static double FdFmnistAgainstTestImages(Tensor samples, string? directory, ulong seed)
    {
        using var scope = torch.NewDisposeScope();
        var (images, _) = FashionMnist.Load(directory, train: false);
        using var g = new Generator(seed + 3);
        var count = Math.Min(samples.size(0), images.size(0));
        var real = images.index_select(0, torch.randperm(images.size(0), g).narrow(0, 0, count)); // (n, 1, 28, 28)
        using var fd = FdFmnist.Shipped();
        return fd.Distance(samples, real);
    }

    public static int DefaultSteps(SamplerKind kind) => kind switch
    {
        SamplerKind.EulerMaruyama or SamplerKind.PredictorCorrector => 500,
        SamplerKind.Ddpm => 1000,
        SamplerKind.EdmHeun or SamplerKind.DpmPlusPlus2M or SamplerKind.UniPc => 18,
        SamplerKind.EdmSde or SamplerKind.DpmPlusPlus2MSde => 50,
        _ => 100,
    };

    /// <summary>
    /// Samples n points <paramref name="batch"/> at a time (default: all at once) from one generator seeded with
    /// <paramref name="seed"/> (so a run is reproducible at a given batch size); with guidance, labels cycle over the classes across batches and the null class is
    /// the class count. In one batch the result is the sampler's own (all n samples, the trajectory at
    /// <paramref name="recordAt"/>); in several, memory is bounded by the batch: the first <see cref="KeptForOutputs"/>
    /// samples are kept, no trajectory can be recorded, and the NFE is the largest of any batch (the adaptive ODE's varies).
    /// </summary>
    internal static SampleResult Run(IScoreModel model, Training.Sde.DiffusionProcess process, SamplerKind kind, int steps, int n, ulong seed,
        double? guidance, int? classes, SamplerOptions? options = null, int? batch = null, IEnumerable<double>? recordAt = null)
    {
        var size = Math.Min(batch ?? n, n);
        if (recordAt is not null && size < n) throw new ArgumentException($"a trajectory is recorded only when all {n} samples are drawn in one batch (batch {size})");
        ThreadPolicyForSampling(model, size);
        using var g = new Generator(seed);
        SampleResult Draw(long start, int b, IEnumerable<double>? record)
        {
            var network = guidance is { } w && classes is { } c
                ? ModelFunctions.Guided(model, (torch.arange(b) + start) % c, c, w)
                : ModelFunctions.Network(model);
            return Samplers.Run(kind, process, network, Predictions.From(model.Target), [b, .. model.Config.InputShape], steps, g, options, record);
        }
        if (size == n)
        {
            using var scope = torch.NewDisposeScope();
            return Draw(0, n, recordAt);
        }
        var kept = new List<Tensor>();
        var nfe = 0;
        for (long start = 0; start < n; start += size)
        {
            using var scope = torch.NewDisposeScope();
            var b = (int)Math.Min(size, n - start);
            using var result = Draw(start, b, null);
            nfe = Math.Max(nfe, result.Nfe);
            if (start < KeptForOutputs) kept.Add(result.Samples.narrow(0, 0, Math.Min(b, KeptForOutputs - start)).clone().DetachFromDisposeScope());
        }
        var samples = kept.Count == 1 ? kept[0] : torch.cat([.. kept], 0).DetachFromDisposeScope();
        if (kept.Count > 1) foreach (var k in kept) k.Dispose();
        return new SampleResult(samples, nfe, []);
    }

    private static void ThreadPolicyForSampling(IScoreModel model, int n) => ThreadPolicy.Apply((double)model.Module.Macs * n);
}
