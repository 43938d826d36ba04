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
/// Its <see cref="CheckpointManifest"/> (manifest.json: each file's size and hash) is written last, and every read goes
/// through <see cref="Find"/>, which checks it: a damaged checkpoint of a run is named and skipped for the newest intact
/// one; one named explicitly is an error. A checkpoint with a manifest has its JSON files read strictly (every field,
/// nothing unknown, values in range); one written before manifests existed is read as before, with a note. Nothing
/// non-finite is written: <see cref="Save"/> checks every tensor first.
/// </summary>
public static class Checkpoint
{
    public const string Latest = "latest";
    public const string ModelWeights = "model.safetensors", EmaWeights = "ema.safetensors", OptimizerTensors = "optimizer.safetensors",
        OptimizerMetadata = "optimizer.json", ModelConfigFile = "model.json", TrainingConfigFile = "training.json", StateFile = "state.json";

    /// <summary>The files every checkpoint has (optimizer.safetensors and optimizer.json are both there or both absent).</summary>
    public static readonly IReadOnlyList<string> RequiredFiles = [ModelWeights, EmaWeights, ModelConfigFile, TrainingConfigFile, StateFile];

    public static string DirectoryName(int step) => $"step-{step:D6}";

    /// <summary>Writes a checkpoint for <paramref name="state"/>.Step into <paramref name="runDir"/> and points latest at it.</summary>
    public static string Save(string runDir, ModelConfig model, TrainingConfig training, TrainingState state,
        IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor> ema, OptimizerStateDict? optimizer)
    {
        // Refuse before anything is written: a checkpoint of NaN weights would become latest and be resumed or sampled.
        var nonFinite = new[] { (ModelWeights, weights), (EmaWeights, ema), (OptimizerTensors, optimizer?.tensors ?? new Dictionary<string, Tensor>()) }
            .Select(f => (File: f.Item1, Tensor: NonFiniteValuesException.FirstNonFinite(f.Item2))).FirstOrDefault(f => f.Tensor is not null);
        if (nonFinite.Tensor is { } bad)
            throw new NonFiniteValuesException($"refusing to write the step-{state.Step} checkpoint: {nonFinite.File} tensor '{bad}' holds NaN or infinite values");
        if (state.Loss is { } loss && !double.IsFinite(loss)) throw new NonFiniteValuesException($"refusing to write the step-{state.Step} checkpoint: its loss is {loss}");
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
        CheckpointManifest.Write(temp);
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
        var state = new TrainingState(0, new Dictionary<string, string>(), new DataSamplerState($"imported from {source}", ""), Loss: null);
        return Save(runDir, model, training, state, weights, weights, optimizer: null);
    }

    /// <summary>
    /// The checkpoint to read, its manifest checked. <paramref name="path"/> may be a checkpoint directory itself (one
    /// with state.json or manifest.json), which must be intact (else <see cref="InvalidDataException"/>); or a run
    /// directory, whose intact checkpoint <c>latest</c> names is taken, else its highest intact <c>step-*</c> one — each
    /// damaged one passed over is named to <paramref name="warn"/>, and a run with only damaged ones is an error. Null
    /// when <paramref name="path"/> holds no checkpoint. A checkpoint without a manifest (written before manifests)
    /// is taken with a note to <paramref name="warn"/>.
    /// </summary>
    public static string? Find(string path, Action<string>? warn = null)
    {
        if (!Directory.Exists(path)) return null;
        if (IsCheckpoint(path))
        {
            var verdict = Verify(path);
            if (!verdict.IsGood) throw new InvalidDataException($"checkpoint '{path}' is damaged: {verdict.Problem}");
            if (!verdict.HasManifest) warn?.Invoke(Unverified(path));
            return path;
        }
        var skipped = new List<string>();
        foreach (var candidate in Candidates(path))
        {
            var verdict = Verify(candidate);
            if (!verdict.IsGood)
            {
                skipped.Add($"{Path.GetFileName(candidate)} ({verdict.Problem})");
                continue;
            }
            foreach (var s in skipped) warn?.Invoke($"warning: skipped the damaged checkpoint {s}; using {Path.GetFileName(candidate)}");
            if (!verdict.HasManifest) warn?.Invoke(Unverified(candidate));
            return candidate;
        }
        return skipped.Count == 0 ? null : throw new InvalidDataException($"no intact checkpoint in '{path}': {string.Join("; ", skipped)}");
    }

    /// <summary>Whether <paramref name="path"/> holds any checkpoint, intact or not (cheap: nothing is hashed).</summary>
    public static bool HoldsAny(string path) => Directory.Exists(path) && (IsCheckpoint(path) || Candidates(path).Any());

    private static string Unverified(string dir) =>
        $"note: {dir} has no {CheckpointManifest.FileName} (written before checkpoint manifests): its files are not verified and its JSON is read leniently";

    private static bool IsCheckpoint(string dir) => !dir.TrimEnd('/').EndsWith(".tmp", StringComparison.Ordinal)
        && (File.Exists(Path.Combine(dir, StateFile)) || File.Exists(Path.Combine(dir, CheckpointManifest.FileName)));

    /// <summary>The run's checkpoint directories, most preferred first: the one <c>latest</c> names, then by step, highest first.</summary>
    private static IEnumerable<string> Candidates(string runDir)
    {
        var steps = Directory.GetDirectories(runDir, "step-*")
            .Where(d => !d.EndsWith(".tmp", StringComparison.Ordinal) && int.TryParse(Path.GetFileName(d)["step-".Length..], out _))
            .OrderByDescending(d => int.Parse(Path.GetFileName(d)["step-".Length..]));
        var latest = Path.Combine(runDir, Latest);
        var named = File.Exists(latest) && File.ReadAllText(latest).Trim() is { Length: > 0 } n && n == Path.GetFileName(n) && n != ".." && n != "."
            ? Path.Combine(runDir, n) : null;
        return (named is not null && Directory.Exists(named) ? steps.Prepend(named) : steps).Distinct().Where(IsCheckpoint);
    }

    private static CheckpointManifest.Verdict Verify(string dir)
    {
        var required = File.Exists(Path.Combine(dir, OptimizerTensors)) || File.Exists(Path.Combine(dir, OptimizerMetadata))
            ? [.. RequiredFiles, OptimizerTensors, OptimizerMetadata] : RequiredFiles;
        return CheckpointManifest.Verify(dir, required.ToArray());
    }

    /// <summary>Whether the checkpoint's JSON is read strictly (it has a manifest, so it was written complete by this version or later).</summary>
    private static bool IsStrict(string dir) => File.Exists(Path.Combine(dir, CheckpointManifest.FileName));

    /// <summary>model.json, read strictly; every error names the file.</summary>
    public static ModelConfig ReadModelConfig(string dir) => ModelConfig.FromJson(File.ReadAllText(Path.Combine(dir, ModelConfigFile)), Path.Combine(dir, ModelConfigFile));

    /// <summary>training.json; in a checkpoint with a manifest every field must be there, none unknown, and the config valid.</summary>
    public static TrainingConfig ReadTrainingConfig(string dir)
    {
        var path = Path.Combine(dir, TrainingConfigFile);
        var json = File.ReadAllText(path);
        if (!IsStrict(dir)) return TrainingConfig.FromJson(json, path);
        var config = CheckpointJson.Read<TrainingConfig>(json, path);
        var errors = config.Check();
        return errors.Count == 0 ? config : throw new InvalidDataException($"{path}: {string.Join("; ", errors)}");
    }

    /// <summary>state.json; in a checkpoint with a manifest it is read strictly and checked against training.json (step in [0, steps], …).</summary>
    public static TrainingState ReadState(string dir)
    {
        var path = Path.Combine(dir, StateFile);
        var json = File.ReadAllText(path);
        if (!IsStrict(dir)) return TrainingState.FromJson(json);
        var state = CheckpointJson.Read<TrainingState>(json, path);
        var errors = state.Check(ReadTrainingConfig(dir).Steps, trained: File.Exists(Path.Combine(dir, OptimizerMetadata)));
        return errors.Count == 0 ? state : throw new InvalidDataException($"{path}: {string.Join("; ", errors)}");
    }

    /// <summary>The optimizer state; the caller disposes it. With a manifest, optimizer.json is read strictly and its step counts checked.</summary>
    public static OptimizerStateDict ReadOptimizer(string dir)
    {
        var path = Path.Combine(dir, OptimizerMetadata);
        var json = File.ReadAllText(path);
        OptimizerMetadata meta;
        if (IsStrict(dir))
        {
            meta = CheckpointJson.Read<OptimizerMetadata>(json, path);
            var step = ReadState(dir).Step;
            var bad = meta.steps.Where(s => s.Value < 0 || s.Value > step).Select(s => $"$.steps['{s.Key}']: {s.Value} is outside [0, {step}] (state.json's step)")
                .Concat(meta.param_groups.Select((g, i) => g is null || g.@params is null || g.options is null ? $"$.param_groups[{i}]: null where a param group belongs" : null).OfType<string>())
                .ToArray();
            if (bad.Length > 0) throw new InvalidDataException($"{path}: {string.Join("; ", bad)}");
        }
        else meta = JsonSerializer.Deserialize<OptimizerMetadata>(json, TrainingConfig.Json) ?? throw new JsonException($"{path} is empty");
        var tensors = Safetensors.Load(Path.Combine(dir, OptimizerTensors));
        foreach (var t in tensors.Values) t.DetachFromDisposeScope();
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
