using Diffusion.Torch;
using LanguageExt;

namespace Diffusion.Primitives;

/// <summary>
/// The learned time embedding after the sinusoidal features: Linear → SiLU → Linear (DDPM's temb.dense_0/1,
/// diffusers' TimestepEmbedding with linear_1/linear_2). Usually In = C, Hidden = Out = 4C.
/// </summary>
public sealed record TimeMlpSpec(int In, int Hidden, int Out, Activation Activation = Activation.SiLU)
{
    public static TimeMlpSpec For(int channels) => new(channels, 4 * channels, 4 * channels);

    public LinearSpec Linear1 => new(In, Hidden);

    public LinearSpec Linear2 => new(Hidden, Out);

    public long ParameterCount => Linear1.ParameterCount + Linear2.ParameterCount;

    public Seq<string> Check(string path) => Linear1.Check(Rules.Child(path, "linear_1")) + Linear2.Check(Rules.Child(path, "linear_2"));
}

public sealed record TimeMlpParams(LinearParams Linear1, LinearParams Linear2) : Params
{
    public override IEnumerable<NamedTensor> Named() => Sub("linear_1", Linear1).Concat(Sub("linear_2", Linear2));
}

public static class TimeMlp
{
    public static TimeMlpParams Init(TimeMlpSpec s, Generator g, InitScheme? scheme = null) =>
        new(Linear.Init(s.Linear1, g, scheme), Linear.Init(s.Linear2, g, scheme));

    /// <summary>(N, In) → (N, Out).</summary>
    public static Tensor Forward(TimeMlpSpec s, TimeMlpParams p, Tensor emb)
    {
        using var scope = torch.NewDisposeScope();
        var h = s.Activation.Apply(Linear.Forward(p.Linear1, emb)); // (N, Hidden)
        return Linear.Forward(p.Linear2, h).MoveToOuterDisposeScope(); // (N, Out)
    }
}
