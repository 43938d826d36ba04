using Diffusion.Architectures;
using Diffusion.Torch;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// One parity case: the config JSON (what both sides read), the batch, the timesteps, labels (null: none passed) and
/// whether a metadata vector is drawn. <paramref name="Keep"/> names parameters left as Build drew them (frozen buffers).
/// </summary>
public sealed record ParityCase(string Name, string ConfigJson, double[] Times, long[]? Labels = null, int MetadataDim = 0,
    Func<string, bool>? Keep = null, ulong Seed = 1)
{
    public int Batch => Times.Length;
}

/// <summary>Draws every parameter and the inputs of a case from a seeded generator.</summary>
internal static class ParityDraw
{
    /// <summary>
    /// Replaces every parameter so that no part of the network hides behind a zero init (adaLN-zero, zero final layers):
    /// matrices and kernels N(0, 1/fan_in), so each layer keeps its activations O(1); biases N(0, 0.2²); 1-D norm
    /// weights 1 + N(0, 0.2²); embedding tables N(0, 1), as an nn.Embedding row is used directly.
    /// </summary>
    public static void Redraw(IScoreModel model, Generator g, Func<string, bool>? keep)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in model.Parameters.Named())
        {
            if (keep?.Invoke(name) == true) continue;
            var shape = t.shape;
            var z = torch.randn(shape, g);
            var isTable = name.Contains("embedding_table") || name.StartsWith("class_embedding") || name.StartsWith("label_emb") || name == "pos_embed";
            Tensor value = isTable ? z
                : name.EndsWith(".bias") ? z * 0.2
                : shape.Length == 1 ? z * 0.2 + 1.0
                : z * (1.0 / Math.Sqrt(shape.Skip(1).Aggregate(1L, (a, b) => a * b)));
            t.copy_(value);
        }
    }

    /// <summary>x ~ N(0, 1) of the model's input shape, t as listed, labels as listed, metadata ~ N(0, 1).</summary>
    public static Dictionary<string, Tensor> Inputs(ParityCase c, ModelConfig config, Generator g)
    {
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = torch.randn([c.Batch, .. config.InputShape], g),                            // (N, *input)
            ["t"] = torch.tensor(c.Times.Select(v => (float)v).ToArray()),                        // (N)
        };
        if (c.Labels is not null) inputs["labels"] = torch.tensor(c.Labels);                       // (N) int64
        if (c.MetadataDim > 0) inputs["metadata"] = torch.randn([c.Batch, (long)c.MetadataDim], g); // (N, M)
        return inputs;
    }
}
