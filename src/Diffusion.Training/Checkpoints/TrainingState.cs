using System.Text.Json;

namespace Diffusion.Training.Checkpoints;

/// <summary>
/// <c>state.json</c>: the step reached and every generator's state (base64 of torch's Generator.get_state()), so a
/// resumed run draws exactly the batches, times, noise and dropout masks the uninterrupted run would have.
/// <see cref="DataSampler"/> names the data source and which generator drives it. <see cref="Seconds"/> is the run's
/// training time up to this step (all sessions together), so metrics.jsonl's wall time continues across a resume
/// (0 in checkpoints written before it existed). <see cref="Loss"/> is the last step's loss (null before the first step).
/// <see cref="WorldSize"/> is the number of data-parallel processes that wrote it (1 alone; their per-rank dropout
/// generators are "dropout.rank&lt;r&gt;"); a resume needs the same number.
/// </summary>
public sealed record TrainingState(int Step, IReadOnlyDictionary<string, string> Generators, DataSamplerState DataSampler, double? Loss, double Seconds = 0,
    int WorldSize = 1)
{
    /// <summary>The generators a trained checkpoint of one process holds (an imported one holds none).</summary>
    public static readonly IReadOnlyList<string> GeneratorNames = ["data", "noise", "dropout"];

    /// <summary>The most data-parallel processes a checkpoint may name (a bound for validation, far above any real job).</summary>
    public const int MaxWorldSize = 1 << 16;

    /// <summary>The name of rank <paramref name="rank"/>'s dropout generator: "dropout" for rank 0 (the one-process name), else "dropout.rank&lt;r&gt;".</summary>
    public static string DropoutGenerator(int rank) => rank == 0 ? "dropout" : $"dropout.rank{rank}";

    /// <summary>
    /// Every problem with this state for a run of <paramref name="steps"/> steps: step outside [0, steps], a missing,
    /// extra or malformed generator state (a <paramref name="trained"/> checkpoint has one per <see cref="GeneratorNames"/>,
    /// each torch's CPU generator state in base64), a data sampler naming no generator, a non-finite loss or time.
    /// </summary>
    public IReadOnlyList<string> Check(int steps, bool trained)
    {
        var errors = new List<string>();
        if (Step < 0 || Step > steps) errors.Add($"$.step: {Step} is outside [0, {steps}] (training.json's steps)");
        // Bounded before use: the expected generator names are listed per rank.
        var ranks = WorldSize is >= 1 and <= MaxWorldSize ? WorldSize : 1;
        if (ranks != WorldSize) errors.Add($"$.world_size: {WorldSize} is outside [1, {MaxWorldSize}]");
        IReadOnlyList<string> expected = trained ? [.. GeneratorNames, .. Enumerable.Range(1, ranks - 1).Select(DropoutGenerator)] : [];
        errors.AddRange(expected.Except(Generators.Keys).Select(g => $"$.generators.{g} is missing"));
        errors.AddRange(Generators.Keys.Except(expected).Select(g => $"$.generators.{g}: unknown generator (expected {(trained ? string.Join(", ", expected) : "none in an imported checkpoint")})"));
        foreach (var (name, text) in Generators)
        {
            if (text is null)
            {
                errors.Add($"$.generators.{name}: null");
                continue;
            }
            var bytes = new byte[text.Length];
            if (!Convert.TryFromBase64String(text, bytes, out var length)) errors.Add($"$.generators.{name}: not base64");
            else if (length != GeneratorStateBytes.Value) errors.Add($"$.generators.{name}: {length} bytes, a generator state has {GeneratorStateBytes.Value}");
        }
        if (trained && !Generators.ContainsKey(DataSampler.Generator)) errors.Add($"$.data_sampler.generator: '{DataSampler.Generator}' is not one of the generators");
        if (Loss is { } loss && !double.IsFinite(loss)) errors.Add($"$.loss: {loss} is not finite");
        if (!(Seconds >= 0 && double.IsFinite(Seconds))) errors.Add($"$.seconds: {Seconds} must be finite and ≥ 0");
        return errors;
    }

    /// <summary>The size of torch's CPU generator state (what Generator.get_state() returns).</summary>
    private static readonly Lazy<int> GeneratorStateBytes = new(() =>
    {
        using var g = new Torch.Generator(0);
        return g.get_state().Length;
    });

    public string ToJson() => JsonSerializer.Serialize(this, Loop.TrainingConfig.Json);

    public static TrainingState FromJson(string json) =>
        JsonSerializer.Deserialize<TrainingState>(json, Loop.TrainingConfig.Json) ?? throw new JsonException("state.json is empty");
}

/// <summary>The data sampler: its source and the generator (a key of <see cref="TrainingState.Generators"/>) it draws from.</summary>
public sealed record DataSamplerState(string Source, string Generator);
