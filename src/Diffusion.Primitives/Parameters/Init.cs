namespace Diffusion.Primitives;

/// <summary>How a Linear/Conv weight and its bias are drawn: each scheme turns the weight's shape into two <see cref="Fill"/>s.</summary>
public abstract record InitScheme
{
    /// <summary>
    /// PyTorch's default for nn.Linear / nn.ConvNd: kaiming_uniform_(a=√5), i.e. U(−b, b) with
    /// b = gain·√(3/fan_in), gain = √(2/(1+a²)) = √(1/3), so b = 1/√fan_in; the bias is U(±1/√fan_in).
    /// </summary>
    public sealed record TorchDefault : InitScheme;

    /// <summary>
    /// DDPM (Ho et al. 2020, diffusion_utils <c>default_init</c>): TF's variance_scaling(scale, "fan_avg", "uniform"),
    /// U(−b, b) with b = √(3·scale / ((fan_in + fan_out)/2)); biases zero. Scale 1 is Xavier-uniform
    /// (U(±√(6/(fan_in + fan_out))), DiT's initialize_weights).
    /// </summary>
    public sealed record VarianceScaling(double Scale = 1.0) : InitScheme;

    /// <summary>
    /// DiT's patch embedding: <c>xavier_uniform_(w.view([w.shape[0], -1]))</c>, i.e. fan_in = C·p², fan_out = D
    /// (a conv's own Xavier would use fan_out = D·p²); zero bias.
    /// </summary>
    public sealed record XavierFlat : InitScheme;

    /// <summary>N(0, Std²) weights, zero biases (DiT's timestep MLP, U-ViT's trunc_normal_(std=.02), whose ±2 cut is 100σ away).</summary>
    public sealed record Normal(double Std) : InitScheme;

    /// <summary>All zeros: the last conv of a residual branch (diffusers' zero_module, DiT's adaLN-Zero).</summary>
    public sealed record Zeros : InitScheme;

    public static readonly InitScheme Default = new TorchDefault(), Zero = new Zeros(), Xavier = new VarianceScaling();

    /// <summary>
    /// The weight's and the bias's fills for a weight of <paramref name="shape"/> whose dims 0 and 1 are (out, in) — or
    /// (in, out) for a transposed conv, where PyTorch computes fan_in from dim 1 anyway — and the rest the receptive field.
    /// </summary>
    public (Fill Weight, Fill Bias) Fills(long[] shape)
    {
        var receptive = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        double fanIn = shape[1] * receptive, fanOut = shape[0] * receptive;
        return this switch
        {
            TorchDefault => (new Fill.Uniform(1 / Math.Sqrt(fanIn)), new Fill.Uniform(1 / Math.Sqrt(fanIn))),
            VarianceScaling v => (new Fill.Uniform(Math.Sqrt(3 * v.Scale / ((fanIn + fanOut) / 2))), Fill.Zero),
            XavierFlat => (new Fill.Uniform(Math.Sqrt(6 / (fanIn + shape[0]))), Fill.Zero),
            Normal n => (new Fill.Normal(n.Std), Fill.Zero),
            Zeros => (Fill.Zero, Fill.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(InitScheme), this, "unknown init scheme"),
        };
    }
}
