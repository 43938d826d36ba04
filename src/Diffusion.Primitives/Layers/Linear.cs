using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>y = x Wᵀ + b over the last dim; W is (out, in) as nn.Linear.</summary>
public sealed record LinearSpec(int In, int Out, bool Bias = true)
{
    public long ParameterCount => (long)In * Out + (Bias ? Out : 0);

    public IEnumerable<string> Check(string path) => [.. Rules.Positive(In, path, "in_features"), .. Rules.Positive(Out, path, "out_features")];

    /// <summary>
    /// This linear as the child <paramref name="name"/> of a block, applied at <paramref name="tokens"/> positions per sample
    /// (output [out] for one, [tokens, out] otherwise, unless <paramref name="shape"/> says how the block reshapes it).
    /// </summary>
    public Leaf<LinearSpec> Declare(string name, long tokens = 1, InitScheme? init = null, long[]? shape = null)
    {
        var (w, b) = (init ?? InitScheme.Default).Fills([Out, In]);
        return new(this, Module.Leaf(name, "Linear", shape ?? (tokens == 1 ? [Out] : [tokens, Out]), tokens * In * Out,
            new ParamSpec("weight", [Out, In], w), Bias ? new ParamSpec("bias", [Out], b) : null));
    }
}

public static class Linear
{
    /// <summary>(*, in) → (*, out) with the module's own weight and bias, in the compute type of <paramref name="w"/>'s precision.</summary>
    public static Tensor Forward(Params w, Tensor x) => F.linear(w.ComputeInput(x), w.Compute("weight"), w.ComputeOptional("bias"));

    /// <summary>The declared child <paramref name="layer"/> of the block whose parameters are <paramref name="parent"/>.</summary>
    public static Tensor Forward(this Leaf<LinearSpec> layer, Params parent, Tensor x) => Forward(parent[layer], x);
}
