using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>
/// Gaussian Fourier features (Tancik et al. 2020) as in score_sde's GaussianFourierProjection (Song et al. 2021,
/// NCSN++): fixed random frequencies W ~ N(0, Scale²), emb(t) = [sin(2π t W), cos(2π t W)] — (N) → (N, 2·HalfDim).
/// NCSN++ feeds log σ and uses Scale 16.
/// </summary>
public sealed record FourierSpec(int HalfDim, double Scale = 16)
{
    public int Dim => 2 * HalfDim;

    public long ParameterCount => HalfDim;

    public IEnumerable<string> Check(string path) =>
        [.. Rules.Positive(HalfDim, path, "embedding_size"), .. Rules.Require(Scale > 0, path, $"scale={Scale} must be positive")];

    /// <summary>The frequencies <c>W</c>, frozen (score_sde's <c>nn.Parameter(..., requires_grad=False)</c>).</summary>
    public Leaf<FourierSpec> Declare(string name) =>
        new(this, Module.Leaf(name, "GaussianFourier", [Dim], 0, new ParamSpec("W", [HalfDim], new Fill.Normal(Scale), ParamKind.Frozen)));
}

public static class FourierFeatures
{
    public static Tensor Embed(this Leaf<FourierSpec> layer, Params parent, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var proj = t.@float().unsqueeze(1) * parent[layer]["W"].unsqueeze(0) * (2 * Math.PI); // (N, h)
        return torch.cat([proj.sin(), proj.cos()], 1).MoveToOuterDisposeScope();               // (N, 2h)
    }
}
