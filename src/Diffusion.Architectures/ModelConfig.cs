using System.Text.Json;
using System.Text.Json.Serialization;
using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;

namespace Diffusion.Architectures;

/// <summary>
/// The serialisable definition of a score network. Each architecture adds a derived record with a
/// <c>kind</c> discriminator, so a model definition round-trips through JSON and can be versioned.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(MlpConfig), "mlp")]
[JsonDerivedType(typeof(DiTConfig), "dit")]
[JsonDerivedType(typeof(UViTConfig), "uvit")]
[JsonDerivedType(typeof(UNetConfig), "unet")]
public abstract record ModelConfig
{
    /// <summary>Every problem with the config, each naming its field (empty when valid). Never throws.</summary>
    public abstract Seq<string> Check();

    /// <summary>Per-sample input shape, e.g. [2] for 2-D points or [3, 32, 32] for images.</summary>
    public abstract long[] InputShape { get; }

    /// <summary>Validates, then draws fresh parameters from <paramref name="generator"/>.</summary>
    public IScoreModel Build(Generator generator)
    {
        var problems = Check();
        if (!problems.IsEmpty) throw new ConfigException(problems);
        return Create(generator);
    }

    /// <summary>Builds a config already known to be valid.</summary>
    protected abstract IScoreModel Create(Generator generator);

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
