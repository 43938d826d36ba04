using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Loop;

/// <summary>Copies saved tensors into live ones by name, after checking every name and shape (all problems at once).</summary>
public static class WeightCopy
{
    public static void CopyInto(IReadOnlyDictionary<string, Tensor> destination, IReadOnlyDictionary<string, Tensor> source, string what)
    {
        var errors = new List<string>();
        foreach (var (name, t) in destination)
            if (!source.TryGetValue(name, out var s)) errors.Add($"missing '{name}'");
            else if (!s.shape.SequenceEqual(t.shape)) errors.Add($"'{name}' has shape [{string.Join(", ", s.shape)}], expected [{string.Join(", ", t.shape)}]");
        foreach (var name in source.Keys.Where(k => !destination.ContainsKey(k))) errors.Add($"unexpected '{name}'");
        if (errors.Count > 0) throw new InvalidDataException($"{what}: the saved weights do not fit the model: {string.Join("; ", errors)}");
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in destination) t.copy_(source[name]);
    }

    /// <summary>Loads named tensors into a model's parameters.</summary>
    public static void Load(Params parameters, IReadOnlyDictionary<string, Tensor> source, string what = "model") =>
        CopyInto(parameters.Named().ToDictionary(p => p.Name, p => p.Tensor), source, what);

    public static Dictionary<string, Tensor> Named(Params parameters) => parameters.Named().ToDictionary(p => p.Name, p => p.Tensor);
}
