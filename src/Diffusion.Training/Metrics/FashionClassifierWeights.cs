using System.Globalization;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;

namespace Diffusion.Training.Metrics;

/// <summary>
/// A trained FD-FMNIST classifier in a safetensors file: its tensors under their state_dict names (<c>conv1.weight</c>, …)
/// and, in the header's metadata, the config (<c>channels1</c>, <c>channels2</c>, <c>features</c>, <c>classes</c>,
/// <c>image_size</c>) plus how it was trained and what it scored (free text, for people).
/// </summary>
public static class FashionClassifierWeights
{
    public const string Format = "diffusion-fashion-classifier";

    public static void Save(string path, FashionClassifierPlan plan, Params w, IReadOnlyDictionary<string, string>? notes = null)
    {
        var c = plan.Config;
        var metadata = new Dictionary<string, string>(notes ?? new Dictionary<string, string>())
        {
            ["format"] = Format,
            ["channels1"] = Invariant(c.Channels1), ["channels2"] = Invariant(c.Channels2),
            ["features"] = Invariant(c.Features), ["classes"] = Invariant(c.Classes), ["image_size"] = Invariant(c.ImageSize),
        };
        using var scope = torch.NewDisposeScope();
        var tensors = w.Named().ToDictionary(p => p.Name, p => p.Tensor.detach().contiguous());
        var tmp = path + ".tmp";
        Safetensors.Save(tmp, tensors, metadata);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a file written by <see cref="Save"/>; <paramref name="source"/> names it in errors.</summary>
    public static (FashionClassifierPlan Plan, Params Weights) Load(ReadOnlySpan<byte> bytes, string source)
    {
        var file = Safetensors.DeserializeWithMetadata(bytes);
        var m = file.Metadata;
        if (!m.TryGetValue("format", out var format) || format != Format)
        {
            foreach (var t in file.Tensors.Values) t.Dispose();
            throw new InvalidDataException($"{source}: not a {Format} file (its safetensors metadata has format '{format ?? "(none)"}')");
        }
        int Field(string key)
        {
            if (m.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
            throw new InvalidDataException($"{source}: metadata field '{key}' is missing or not an integer");
        }
        var plan = new FashionClassifierConfig(Field("channels1"), Field("channels2"), Field("features"), Field("classes"), Field("image_size")).Plan().OrThrow();
        var missing = new List<string>();
        var w = Params.From(plan.Module, (name, spec) =>
        {
            if (!file.Tensors.Remove(name, out var t)) { missing.Add(name); return torch.zeros(spec.Shape); }
            if (!t.shape.SequenceEqual(spec.Shape))
            {
                missing.Add($"{name} (shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", spec.Shape)}])");
                t.Dispose();
                return torch.zeros(spec.Shape);
            }
            if (t.dtype != ScalarType.Float32)
            {
                missing.Add($"{name} (dtype {t.dtype}, expected Float32)");
                t.Dispose();
                return torch.zeros(spec.Shape);
            }
            return t;
        });
        var extra = file.Tensors.Keys.ToList();
        foreach (var t in file.Tensors.Values) t.Dispose();
        if (missing.Count > 0 || extra.Count > 0)
        {
            w.Dispose();
            throw new InvalidDataException($"{source}: tensors do not match the classifier: " +
                string.Join("; ", [.. missing.Select(x => $"missing or wrong {x}"), .. extra.Select(x => $"unexpected {x}")]));
        }
        return (plan, w);
    }

    public static (FashionClassifierPlan Plan, Params Weights) Load(string path) => Load(File.ReadAllBytes(path), path);

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
}
