using System.Text.Json;
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

    /// <summary>Every problem with the config (empty when valid).</summary>
    public IReadOnlyList<string> Check() => PlanModel().Problems;

    /// <summary>Validates once, then draws fresh parameters from <paramref name="generator"/>.</summary>
    public IScoreModel Build(Generator generator) => PlanModel().OrThrow().Build(generator);

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

    public static ModelConfig FromJson(string json) =>
        JsonSerializer.Deserialize<ModelConfig>(json, Json) ?? throw new JsonException("the model config is empty");
}
