using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Metrics;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Loop;

/// <summary>The toy-quality target: mlp-seed on moons, VP-SDE, 8000 steps at batch 512, Euler–Maruyama with 500 steps.</summary>
public class ToyQualityTests(ITestOutputHelper output)
{
    [Fact]
    public void Mlp_seed_on_moons_reaches_swd_below_0_05()
    {
        using var scope = torch.NewDisposeScope();
        var clock = Stopwatch.StartNew();
        using var trainer = new Trainer(Presets.Get("mlp-seed"), new TrainingConfig { Data = DataSet.Moons, Sde = ProcessKind.Vp, Steps = 8000, Batch = 512, Seed = 0 },
            DataSources.Resolve(DataSet.Moons));
        var result = trainer.Run();
        var trainSeconds = clock.Elapsed.TotalSeconds;
        using var ema = trainer.Model.Config.Build(new Generator(0));
        WeightCopy.Load(ema.Parameters, trainer.Ema.Weights, "ema");
        using var g = new Generator(1);
        using var samples = Samplers.Run(SamplerKind.EulerMaruyama, trainer.Process, ModelFunctions.Network(ema), trainer.Prediction, [10_000, 2], 500, g);
        using var dataGen = new Generator(2);
        var fresh = ToyDatasets.Sample(DataSet.Moons, 10_000, dataGen);
        var swd = SlicedWasserstein.Distance(samples.Samples, fresh, 128, new Generator(3));
        output.WriteLine($"loss {result.RecentMeanLoss:F4}, SWD {swd:F4}, train {trainSeconds:F1} s, total {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(swd <= 0.05, $"SWD {swd:F4} > 0.05");
    }
}
