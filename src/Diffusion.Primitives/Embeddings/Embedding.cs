using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>A lookup table (rows, dim) as nn.Embedding, drawn from N(0, Std²) (PyTorch's default is 1).</summary>
public sealed record EmbeddingSpec(int Rows, int Dim, double Std = 1.0)
{
    public Leaf<EmbeddingSpec> Declare(string name) =>
        new(this, Module.Leaf(name, "Embedding", [Dim], 0, new ParamSpec("weight", [Rows, Dim], new Fill.Normal(Std))));
}

public static class Embedding
{
    /// <summary>(N) int64 indices → (N, Dim).</summary>
    public static Tensor Forward(this Leaf<EmbeddingSpec> layer, Params parent, Tensor indices) => F.embedding(indices, parent[layer]["weight"]);
}
