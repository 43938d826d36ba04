using System.Text.Json;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Optim;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Loop;

namespace Diffusion.Training.Checkpoints;

/// <summary>
/// A checkpoint directory <c>step-000123/</c> inside a run directory holds model.safetensors, ema.safetensors,
/// optimizer.safetensors + optimizer.json (absent in an imported run), model.json (the ModelConfig), training.json and state.json.
/// It is written as <c>step-000123.tmp/</c> (every file itself via temp + flush + rename), renamed into place when
/// complete, and only then is the run's <c>latest</c> file (holding the directory name) replaced — so a run killed
/// at any moment leaves the previous checkpoint as <c>latest</c>, and a <c>.tmp</c> directory is never read.
/// </summary>
public static class Checkpoint
{
    public const string Latest = "latest";
    public const string ModelWeights = "model.safetensors", EmaWeights = "ema.safetensors", OptimizerTensors = "optimizer.safetensors",
        OptimizerMetadata = "optimizer.json", ModelConfigFile = "model.json", TrainingConfigFile = "training.json", StateFile = "state.json";

    public static string DirectoryName(int step) => $"step-{step:D6}";

    /// <summary>Writes a checkpoint for <paramref name="state"/>.Step into <paramref name="runDir"/> and points latest at it.</summary>
    public static string Save(string runDir, ModelConfig model, TrainingConfig training, TrainingState state,
        IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor> ema, OptimizerStateDict? optimizer)
    {
        Directory.CreateDirectory(runDir);
        var name = DirectoryName(state.Step);
        var final = Path.Combine(runDir, name);
        var temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        Safetensors.Save(Path.Combine(temp, ModelWeights), weights);
        Safetensors.Save(Path.Combine(temp, EmaWeights), ema);
        if (optimizer is not null)
        {
            Safetensors.Save(Path.Combine(temp, OptimizerTensors), optimizer.tensors);
            AtomicFile.WriteAllText(Path.Combine(temp, OptimizerMetadata), JsonSerializer.Serialize(optimizer.metadata, TrainingConfig.Json));
        }
        AtomicFile.WriteAllText(Path.Combine(temp, ModelConfigFile), model.ToJson());
        AtomicFile.WriteAllText(Path.Combine(temp, TrainingConfigFile), training.ToJson());
        AtomicFile.WriteAllText(Path.Combine(temp, StateFile), state.ToJson());
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        AtomicFile.WriteAllText(Path.Combine(runDir, Latest), name);
        return final;
    }

    /// <summary>
    /// Writes weights trained elsewhere (e.g. <c>diffusion import</c>) as a step-0 checkpoint that <c>sample</c> reads:
    /// model.json, training.json (the process the weights were trained for), the weights as both model.safetensors and
    /// ema.safetensors (sample uses the EMA by default), state.json at step 0 and <c>latest</c>. No optimizer state.
    /// </summary>
    public static string SaveImported(string runDir, ModelConfig model, TrainingConfig training, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var state = new TrainingState(0, new Dictionary<string, string>(), new DataSamplerState($"imported from {source}", ""), 0);
        return Save(runDir, model, training, state, weights, weights, optimizer: null);
    }

    /// <summary>
    /// The checkpoint directory to read: <paramref name="path"/> itself when it is one (has state.json), else the one
    /// its <c>latest</c> names, else its highest complete <c>step-*</c> directory; null when there is none.
    /// </summary>
    public static string? Find(string path)
    {
        if (!Directory.Exists(path)) return null;
        if (File.Exists(Path.Combine(path, StateFile)) && !path.TrimEnd('/').EndsWith(".tmp", StringComparison.Ordinal)) return path;
        var latest = Path.Combine(path, Latest);
        if (File.Exists(latest))
        {
            var named = Path.Combine(path, File.ReadAllText(latest).Trim());
            if (File.Exists(Path.Combine(named, StateFile))) return named;
        }
        return Directory.GetDirectories(path, "step-*")
            .Where(d => !d.EndsWith(".tmp", StringComparison.Ordinal) && File.Exists(Path.Combine(d, StateFile)))
            .OrderDescending(StringComparer.Ordinal).FirstOrDefault();
    }

    public static ModelConfig ReadModelConfig(string dir) => ModelConfig.FromJson(File.ReadAllText(Path.Combine(dir, ModelConfigFile)), Path.Combine(dir, ModelConfigFile));

    public static TrainingConfig ReadTrainingConfig(string dir) => TrainingConfig.FromJson(File.ReadAllText(Path.Combine(dir, TrainingConfigFile)));

    public static TrainingState ReadState(string dir) => TrainingState.FromJson(File.ReadAllText(Path.Combine(dir, StateFile)));

    /// <summary>The optimizer state; the caller disposes it.</summary>
    public static OptimizerStateDict ReadOptimizer(string dir)
    {
        var tensors = Safetensors.Load(Path.Combine(dir, OptimizerTensors));
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
        var meta = JsonSerializer.Deserialize<OptimizerMetadata>(File.ReadAllText(Path.Combine(dir, OptimizerMetadata)), TrainingConfig.Json)
            ?? throw new JsonException("optimizer.json is empty");
        return new OptimizerStateDict(tensors, meta);
    }

    /// <summary>Builds the model a checkpoint holds, loaded with its EMA weights (default) or its raw weights.</summary>
    public static IScoreModel LoadModel(string dir, bool ema = true)
    {
        var config = ReadModelConfig(dir);
        using var init = new Generator(0);
        var model = config.Build(init);
        using var scope = torch.NewDisposeScope();
        WeightCopy.Load(model.Parameters, Safetensors.Load(Path.Combine(dir, ema ? EmaWeights : ModelWeights)), ema ? "ema" : "model");
        return model;
    }
}
