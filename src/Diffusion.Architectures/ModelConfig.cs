using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// The serialisable definition of a score network. Each architecture adds a derived record with a
/// <c>kind</c> discriminator, so a model definition round-trips through JSON and can be versioned.
/// A config is validated once, into its plan (<see cref="PlanModel"/>); building, summaries and counts start from the plan.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(MlpConfig), "mlp")]
[JsonDerivedType(typeof(DiTConfig), "dit")]
[JsonDerivedType(typeof(UViTConfig), "uvit")]
[JsonDerivedType(typeof(UNetConfig), "unet")]
public abstract record ModelConfig
{
    /// <summary>Per-sample input shape, e.g. [2] for 2-D points or [3, 32, 32] for images.</summary>
    public abstract long[] InputShape { get; }

    /// <summary>What the network predicts.</summary>
    public abstract PredictionTarget Target { get; init; }

    /// <summary>The validated plan, or every problem with the config, each naming its path. Never throws.</summary>
    public abstract Checked<IModelPlan> PlanModel();

    /// <summary>
    /// <see cref="PlanModel"/>, and the network's parameter and per-sample multiply-accumulate counts, which must fit in
    /// 64 bits (the <see cref="Limits"/> bound each layer's; a deep and wide enough stack can still exceed it in total).
    /// </summary>
    public Checked<IModelPlan> PlanCounted()
    {
        var plan = PlanModel();
        if (!plan.IsValid) return plan;
        try
        {
            var module = plan.OrThrow().Module;
            _ = (module.ParameterCount, module.Macs);
            return plan;
        }
        catch (OverflowException)
        {
            return Checked.Fail<IModelPlan>(["model: its parameter or multiply-accumulate count per sample exceeds 2⁶³; make it narrower, shallower or smaller"]);
        }
    }

    /// <summary>Every problem with the config (empty when valid). Bounded work: sizes are checked against <see cref="Limits"/> first.</summary>
    public IReadOnlyList<string> Check() => PlanCounted().Problems;

    /// <summary>Validates once, then draws fresh parameters from <paramref name="generator"/>.</summary>
    public IScoreModel Build(Generator generator) => PlanCounted().OrThrow().Build(generator);

    /// <summary>Settable properties only, enums in typed names (see <see cref="ConfigJson"/>).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new ConfigEnumConverterFactory() },
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver { Modifiers = { ConfigJson.SettableOnly } },
    };

    /// <summary>
    /// Real classes of a class-conditional model (labels 0…n−1, label n is the null class used for
    /// classifier-free guidance), or 0 for a model that takes no labels.
    /// </summary>
    public int ClassCount() => this is IClassConditional c ? c.NumClasses : 0;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// Reads a config strictly (see <see cref="StrictConfigJson"/>): unknown fields, a wrong JSON type or an integer that
    /// does not fit are a <see cref="ConfigException"/> listing every problem as "<paramref name="source"/> $.path: what";
    /// malformed JSON and unknown enum names are a <see cref="JsonException"/> naming the source and path. Limits on the
    /// sizes are checked by <see cref="PlanModel"/>, before any arithmetic on them.
    /// </summary>
    public static ModelConfig FromJson(string json, string source = "model config")
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new JsonException($"{source}: {e.Message}", e);
        }
        var problems = StrictConfigJson.Problems(node, Json);
        if (problems.Count > 0) throw new ConfigException([.. problems.Select(p => $"{source} {p}")]);
        try
        {
            return StrictConfigJson.KindFirst(node!.AsObject()).Deserialize<ModelConfig>(Json) ?? throw new JsonException("the model config is empty");
        }
        catch (JsonException e)
        {
            throw new JsonException($"{source} {e.Path ?? "$"}: {e.Message}", e);
        }
    }
}
