using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Loop;

/// <summary>
/// The sample grids <c>train --sample-every N</c> writes to <c>RUN/samples/step-000123.png</c>: 16 samples from the EMA
/// weights of an image (C, H, W) or volume (C, D, H, W) model, with a fast deterministic sampler — the probability-flow
/// ODE by Heun (25 steps, 50 evaluations) for SDE models, DDIM(η = 0, 50 steps) for DDPM ones — from the same seeded
/// noise every time, so successive grids show the model changing rather than the noise. Class-conditional models get
/// labels 0, 1, 2, … cycling over the classes.
/// </summary>
public static class SampleGrid
{
    public const int Count = 16, OdeSteps = 25, DdimSteps = 50;
    public const string Folder = "samples";

    /// <summary>Whether a model of this input shape gets grids (images and volumes; not 2-D points).</summary>
    public static bool Applies(ModelConfig model) => model.InputShape.Length is 3 or 4;

    public static string PathFor(string runDir, int step) => Path.Combine(runDir, Folder, $"step-{step:D6}.png");

    /// <summary>Samples <see cref="Count"/> images from <paramref name="ema"/> weights and writes the grid; returns its path.</summary>
    public static string Write(string runDir, int step, ModelConfig config, IReadOnlyDictionary<string, Tensor> ema, DiffusionProcess process, ulong seed,
        Primitives.Precision precision = Primitives.Precision.FP32)
    {
        if (!Applies(config)) throw new ArgumentException($"sample grids need an image or volume model, not input shape [{string.Join(", ", config.InputShape)}]");
        using var scope = torch.NewDisposeScope();
        using var init = new Generator(0);
        using var master = config.Build(init);
        WeightCopy.Load(master.Parameters, ema, "ema");
        using var mixed = precision == Primitives.Precision.FP32 ? null : new PrecisionModel(master, precision);
        var model = mixed ?? master;
        var classes = config.ClassCount();
        var network = classes > 0 ? ModelFunctions.Network(model, new Conditioning(torch.arange(Count) % classes)) : ModelFunctions.Network(model);
        var (kind, steps) = process.IsContinuous ? (SamplerKind.OdeHeun, OdeSteps) : (SamplerKind.Ddim, DdimSteps);
        using var g = new Generator(seed);
        using var result = Samplers.Run(kind, process, network, Schedules.Predictions.From(model.Target), [Count, .. config.InputShape], steps, g);
        var path = PathFor(runDir, step);
        var title = $"STEP {step}, {Samplers.Name(kind)} {steps}";
        if (config.InputShape.Length == 3) Plots.Plots.ImageGrid(path, result.Samples, columns: 4, title: title);
        else Plots.Plots.VolumeSlices(path, result.Samples, maxVolumes: 4, title: title);
        return path;
    }
}
