using System.Text.Json;

namespace Diffusion.Training.Checkpoints;

/// <summary>
/// <c>state.json</c>: the step reached and every generator's state (base64 of torch's Generator.get_state()), so a
/// resumed run draws exactly the batches, times, noise and dropout masks the uninterrupted run would have.
/// <see cref="DataSampler"/> names the data source and which generator drives it. <see cref="Seconds"/> is the run's
/// training time up to this step (all sessions together), so metrics.jsonl's wall time continues across a resume
/// (0 in checkpoints written before it existed). <see cref="WorldSize"/> is the number of data-parallel processes that
/// wrote it (1 alone; their per-rank dropout generators are "dropout.rank&lt;r&gt;"); a resume needs the same number.
/// </summary>
public sealed record TrainingState(int Step, IReadOnlyDictionary<string, string> Generators, DataSamplerState DataSampler, double Loss, double Seconds = 0,
    int WorldSize = 1)
{
    public string ToJson() => JsonSerializer.Serialize(this, Loop.TrainingConfig.Json);

    public static TrainingState FromJson(string json) =>
        JsonSerializer.Deserialize<TrainingState>(json, Loop.TrainingConfig.Json) ?? throw new JsonException("state.json is empty");
}

/// <summary>The data sampler: its source and the generator (a key of <see cref="TrainingState.Generators"/>) it draws from.</summary>
public sealed record DataSamplerState(string Source, string Generator);
