using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>How a Linear/Conv weight (and bias) is drawn.</summary>
public abstract record InitScheme
{
    /// <summary>
    /// PyTorch's default for nn.Linear / nn.ConvNd: kaiming_uniform_(a=√5), i.e. U(−b, b) with
    /// b = gain·√(3/fan_in), gain = √(2/(1+a²)) = √(1/3), so b = 1/√fan_in; the bias is U(±1/√fan_in).
    /// </summary>
    public sealed record TorchDefault : InitScheme;

    /// <summary>
    /// DDPM (Ho et al. 2020, diffusion_utils <c>default_init</c>): TF's variance_scaling(scale, "fan_avg", "uniform"),
    /// U(−b, b) with b = √(3·scale / ((fan_in + fan_out)/2)); biases zero. Output layers use scale 1e-10.
    /// </summary>
    public sealed record VarianceScaling(double Scale = 1.0) : InitScheme;

    /// <summary>All zeros: the last conv of a residual branch (diffusers' zero_module, DiT's adaLN-Zero).</summary>
    public sealed record Zeros : InitScheme;

    public static readonly InitScheme Default = new TorchDefault();
    public static readonly InitScheme Zero = new Zeros();
}

/// <summary>Seeded parameter initialisation. Every tensor is created outside any dispose scope.</summary>
public static class Init
{
    /// <summary>
    /// A weight of <paramref name="shape"/> whose dims 0 and 1 are (out, in) — or (in, out) for a transposed
    /// conv, where PyTorch computes fan_in from dim 1 anyway — and the rest the receptive field.
    /// </summary>
    public static Tensor Weight(long[] shape, InitScheme scheme, Generator g)
    {
        var receptive = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        double fanIn = shape[1] * receptive, fanOut = shape[0] * receptive;
        using var scope = torch.NewDisposeScope();
        var w = scheme switch
        {
            InitScheme.TorchDefault => torch.empty(shape).uniform_(-1 / Math.Sqrt(fanIn), 1 / Math.Sqrt(fanIn), g),
            InitScheme.VarianceScaling v => Uniform(shape, Math.Sqrt(3 * v.Scale / ((fanIn + fanOut) / 2)), g),
            InitScheme.Zeros => torch.zeros(shape),
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown init scheme"),
        };
        return w.DetachFromDisposeScope();
    }

    /// <summary>A bias of <paramref name="size"/> for a weight of fan-in <paramref name="fanIn"/>.</summary>
    public static Tensor Bias(long size, long fanIn, InitScheme scheme, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        var b = scheme is InitScheme.TorchDefault
            ? torch.empty([size]).uniform_(-1 / Math.Sqrt(fanIn), 1 / Math.Sqrt(fanIn), g)
            : torch.zeros([size]);
        return b.DetachFromDisposeScope();
    }

    public static Tensor Ones(params long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        return torch.ones(shape).DetachFromDisposeScope();
    }

    public static Tensor Zeros(params long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        return torch.zeros(shape).DetachFromDisposeScope();
    }

    private static Tensor Uniform(long[] shape, double bound, Generator g) => torch.empty(shape).uniform_(-bound, bound, g);
}
