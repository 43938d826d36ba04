using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Metrics;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Loop;

/// <summary>
/// The toy-quality recipe, trained once for the tests below: mlp-seed on moons, VP-SDE, 8000 steps at batch 512, seed 0, in
/// float32 (or, <see cref="Bf16MoonsModel"/>, in bf16 mixed precision); its EMA weights, sampled in the same precision.
/// </summary>
public class MoonsModel : IDisposable
{
    private readonly PrecisionModel? mixed;

    public MoonsModel() : this(Precision.FP32)
    {
    }

    protected MoonsModel(Precision precision)
    {
        var clock = Stopwatch.StartNew();
        using var trainer = new Trainer(Presets.Get("mlp-seed"),
            new TrainingConfig { Data = DataSet.Moons, Sde = ProcessKind.Vp, Steps = 8000, Batch = 512, Seed = 0, Precision = precision },
            DataSources.Resolve(DataSet.Moons));
        var result = trainer.Run();
        TrainSeconds = clock.Elapsed.TotalSeconds;
        RecentLoss = result.RecentMeanLoss;
        Process = trainer.Process;
        Prediction = trainer.Prediction;
        using var init = new Generator(0);
        Ema = trainer.Model.Config.Build(init);
        WeightCopy.Load(Ema.Parameters, trainer.Ema.Weights, "ema");
        mixed = precision == Precision.FP32 ? null : new PrecisionModel(Ema, precision);
    }

    public IScoreModel Ema { get; }
    public DiffusionProcess Process { get; }
    public Prediction Prediction { get; }
    public double TrainSeconds { get; }
    public double RecentLoss { get; }

    /// <summary>n samples from the EMA model, and the seconds they took.</summary>
    public (Tensor Samples, int Nfe) Sample(SamplerKind kind, int n, int steps, ulong seed, SamplerOptions? options = null)
    {
        using var g = new Generator(seed);
        using var result = Samplers.Run(kind, Process, ModelFunctions.Network(mixed ?? Ema), Prediction, [n, 2], steps, g, options);
        return (result.Samples.clone().DetachFromDisposeScope(), result.Nfe);
    }

    public void Dispose()
    {
        mixed?.Dispose();
        Ema.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary><see cref="MoonsModel"/> trained and sampled in bf16 mixed precision.</summary>
public sealed class Bf16MoonsModel() : MoonsModel(Precision.BF16);

/// <summary>The issue's sample-quality targets on moons, one trained model (<see cref="MoonsModel"/>, ~40–50 s of training on 2 cores).</summary>
public class ToyQualityTests(MoonsModel model, ITestOutputHelper output) : IClassFixture<MoonsModel>
{
    /// <summary>Euler–Maruyama with 500 steps, 10,000 samples against 10,000 fresh points: SWD ≤ 0.05.</summary>
    [Fact]
    public void Mlp_seed_on_moons_reaches_swd_below_0_05() => AssertMoonsQuality(model, output);

    internal static void AssertMoonsQuality(MoonsModel model, ITestOutputHelper output)
    {
        using var scope = torch.NewDisposeScope();
        var (samples, _) = model.Sample(SamplerKind.EulerMaruyama, 10_000, 500, 1);
        using var dataGen = new Generator(2);
        var fresh = ToyDatasets.Sample(DataSet.Moons, 10_000, dataGen);
        var swd = SlicedWasserstein.Distance(samples, fresh, 128, new Generator(3));
        samples.Dispose();
        output.WriteLine($"loss {model.RecentLoss:F6}, SWD {swd:F6}, train {model.TrainSeconds:F1} s");
        Assert.True(swd <= 0.05, $"SWD {swd:F4} > 0.05");
    }

    /// <summary>
    /// Issue 15's target: DPM-Solver++(2M) at ≤ 20 NFE and EDM Heun at ≤ 35 NFE reach a sliced Wasserstein distance within
    /// 10 % of Euler–Maruyama at 500 steps (same model, 5,000 samples). One draw of 5,000 is not enough to decide it: SW₂
    /// between 5,000 samples moves by ±10–25 % from draw to draw (EM's most, its stray points), so each sampler's SWD here
    /// is the mean over <see cref="Draws"/> independent draws of 5,000 samples, each against the same 50,000 fresh moons
    /// points (so the reference adds almost no noise of its own) with 256 projections. Measured (six draws, 200,000-point
    /// reference): DPM-Solver++(2M) 0.95 × EM, EDM Heun 1.00 × EM on the log-SNR grid; on the Karras grid 1.07 and 1.13
    /// (Karras spends its steps at small σ, which VP's log-SNR range does not need), so the log-SNR grid is the one to use
    /// on VP at these NFE. The solvers must also come within 10 % / 25 % of the converged probability-flow ODE
    /// (DPM-Solver++(2M) at 200 steps) from the same draws — their own accuracy, whatever the model's.
    /// </summary>
    [Fact]
    public void Few_step_samplers_match_euler_maruyama_at_500_steps()
    {
        using var scope = torch.NewDisposeScope();
        using var dataGen = new Generator(12);
        var fresh = ToyDatasets.Sample(DataSet.Moons, 50_000, dataGen);
        var logSnr = new SamplerOptions(Grid: SigmaGridKind.LogSnr);
        var runs = new (string Name, SamplerKind Kind, int Steps, SamplerOptions? Options)[]
        {
            ("em", SamplerKind.EulerMaruyama, 500, null), ("dpmpp-2m", SamplerKind.DpmPlusPlus2M, 20, logSnr),
            ("edm-heun", SamplerKind.EdmHeun, 18, logSnr), ("converged", SamplerKind.DpmPlusPlus2M, 200, logSnr),
        };
        var results = runs.ToDictionary(r => r.Name, r =>
        {
            var swd = new double[Draws];
            var nfe = 0;
            for (var draw = 0; draw < Draws; draw++)
            {
                var (samples, n) = model.Sample(r.Kind, 5000, r.Steps, 11 + (ulong)draw, r.Options);
                using var projections = new Generator(13);
                swd[draw] = SlicedWasserstein.Distance(samples, fresh, 256, projections);
                nfe = n;
                samples.Dispose();
            }
            return (Nfe: nfe, Swd: swd.Average(), Draws: swd);
        });
        var (em, converged) = (results["em"].Swd, results["converged"].Swd);
        foreach (var (name, r) in results)
            output.WriteLine($"{name}: {r.Nfe} NFE, mean SWD {r.Swd:F4} ({r.Swd / em:F2} × EM-500, {r.Swd / converged:F2} × converged ODE); draws {string.Join(", ", r.Draws.Select(v => v.ToString("F4")))}");
        Assert.True(results["dpmpp-2m"].Nfe <= 20 && results["edm-heun"].Nfe <= 35, "NFE over the target's budget");
        Assert.True(results["dpmpp-2m"].Swd <= 1.1 * em, $"dpmpp-2m at 20 NFE: mean SWD {results["dpmpp-2m"].Swd:F4} > 1.1 × EM-500's {em:F4}");
        Assert.True(results["edm-heun"].Swd <= 1.1 * em, $"edm-heun at 35 NFE: mean SWD {results["edm-heun"].Swd:F4} > 1.1 × EM-500's {em:F4}");
        Assert.True(results["dpmpp-2m"].Swd <= 1.1 * converged, $"dpmpp-2m at 20 NFE: mean SWD {results["dpmpp-2m"].Swd:F4} > 1.1 × the converged flow's {converged:F4}");
        Assert.True(results["edm-heun"].Swd <= 1.25 * converged, $"edm-heun at 35 NFE: mean SWD {results["edm-heun"].Swd:F4} > 1.25 × the converged flow's {converged:F4}");
    }

    /// <summary>Independent draws of 5,000 samples averaged per sampler.</summary>
    private const int Draws = 6;
}

/// <summary>
/// Issue 14's bound for mlp-seed under bf16 (README, Precision): trained and sampled in bf16 mixed precision, the same recipe
/// meets the same SWD target as float32 (bench/bf16_quality.sh mlp-seed measured it within 2.8 % of float32 over three seeds).
/// </summary>
public class Bf16ToyQualityTests(Bf16MoonsModel model, ITestOutputHelper output) : IClassFixture<Bf16MoonsModel>
{
    [Fact]
    public void Mlp_seed_on_moons_in_bf16_reaches_swd_below_0_05() => ToyQualityTests.AssertMoonsQuality(model, output);
}
