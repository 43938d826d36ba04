using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// The initialisers the transformer backbones use beyond <see cref="InitScheme"/>. Every tensor is created
/// outside any dispose scope (its Params record owns it).
/// </summary>
internal static class TransformerInit
{
    /// <summary>Xavier-uniform weights, zero biases: U(±√(6/(fan_in + fan_out))) is variance scaling 1 over fan_avg.</summary>
    public static readonly InitScheme Xavier = new InitScheme.VarianceScaling(1.0);

    /// <summary>N(0, std²) weights (DiT's embedding table and timestep MLP; U-ViT's trunc_normal_(std=.02), whose ±2 cut is 100σ away).</summary>
    public static Tensor Normal(long[] shape, double std, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        return torch.empty(shape).normal_(0, std, g).DetachFromDisposeScope();
    }

    public static LinearParams NormalLinear(LinearSpec s, double std, Generator g) =>
        new(Normal([s.Out, s.In], std, g), s.Bias ? Init.Zeros(s.Out) : null);

    /// <summary>
    /// DiT's patch embedding init: <c>xavier_uniform_(w.view([w.shape[0], -1]))</c>, i.e. fan_in = C·p², fan_out = D
    /// (a conv's own Xavier would use fan_out = D·p²); zero bias.
    /// </summary>
    public static ConvParams XavierFlat(ConvSpec s, Generator g)
    {
        var shape = s.WeightShape;
        using var flat = Init.Weight([shape[0], shape.Skip(1).Aggregate(1L, (a, b) => a * b)], Xavier, g);
        Tensor w;
        using (torch.NewDisposeScope()) w = flat.reshape(shape).DetachFromDisposeScope(); // a view sharing flat's storage
        return new ConvParams(w, s.Bias ? Init.Zeros(s.Out) : null);
    }

    /// <summary>A constant table, e.g. the fixed position embedding.</summary>
    public static Tensor Constant(float[] data, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        return torch.tensor(data, shape).DetachFromDisposeScope();
    }
}
