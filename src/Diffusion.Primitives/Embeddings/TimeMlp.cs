using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>
/// The learned embedding after the sinusoidal features: Linear → act → Linear. Usually In = C, Hidden = Out = 4C.
/// Its three children are named as each official model names them (<see cref="Names"/>): diffusers' TimestepEmbedding
/// <c>linear_1, act, linear_2</c>, DiT's TimestepEmbedder <c>mlp.0, mlp.1, mlp.2</c>, U-ViT's <c>time_embed.0, 1, 2</c>.
/// </summary>
public sealed record TimeMlpSpec(int In, int Hidden, int Out, Activation Activation = Activation.SiLU, InitScheme? Init = null)
{
    public static readonly (string First, string Act, string Second) Diffusers = ("linear_1", "act", "linear_2"), Sequential = ("0", "1", "2");

    public static TimeMlpSpec For(int channels) => new(channels, 4 * channels, 4 * channels);

    public IEnumerable<string> Check(string path) =>
        [.. new LinearSpec(In, Hidden).Check(Rules.Child(path, "linear_1")), .. new LinearSpec(Hidden, Out).Check(Rules.Child(path, "linear_2"))];

    /// <summary>The MLP as the child <paramref name="name"/>; <paramref name="features"/> is a parameter-free row shown first (DiT's sinusoid).</summary>
    public TimeMlp Declare(string name, string type, (string First, string Act, string Second) names, Module? features = null) => new(this,
        new LinearSpec(In, Hidden).Declare(names.First, init: Init), Module.Op(names.Act, Activation.ToString(), [Hidden]),
        new LinearSpec(Hidden, Out).Declare(names.Second, init: Init), name, type, features);
}

/// <summary>A declared time MLP: its two linears and the module that groups them.</summary>
public sealed record TimeMlp(TimeMlpSpec Spec, Leaf<LinearSpec> First, Module Act, Leaf<LinearSpec> Second, string Name, string Type, Module? Features) : IDeclared
{
    public Module Module => field ??= Module.Group(Name, Type, [Spec.Out], [Features, First.Module, Act, Second.Module]);

    /// <summary>(N, In) → (N, Out), reading this MLP's subtree of <paramref name="parent"/>.</summary>
    public Tensor Forward(Params parent, Tensor emb)
    {
        var w = parent[this];
        using var scope = torch.NewDisposeScope();
        var h = Spec.Activation.Apply(First.Forward(w, emb)); // (N, Hidden)
        return Second.Forward(w, h).MoveToOuterDisposeScope();  // (N, Out)
    }
}
