using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>y = x Wᵀ + b over the last dim; W is (out, in) as nn.Linear.</summary>
public sealed record LinearSpec(int In, int Out, bool Bias = true)
{
    public long ParameterCount => (long)In * Out + (Bias ? Out : 0);

    public Seq<string> Check(string path) => Rules.Positive(In, path, "in_features") + Rules.Positive(Out, path, "out_features");
}

public sealed record LinearParams(Tensor Weight, Tensor? Bias) : Params
{
    public override IEnumerable<NamedTensor> Named() => One("weight", Weight).Concat(One("bias", Bias));
}

public static class Linear
{
    public static LinearParams Init(LinearSpec s, Generator g, InitScheme? scheme = null)
    {
        scheme ??= InitScheme.Default;
        return new(Primitives.Init.Weight([s.Out, s.In], scheme, g), s.Bias ? Primitives.Init.Bias(s.Out, s.In, scheme, g) : null);
    }

    public static Tensor Forward(LinearParams p, Tensor x) => F.linear(x, p.Weight, p.Bias); // (*, in) → (*, out)
}
