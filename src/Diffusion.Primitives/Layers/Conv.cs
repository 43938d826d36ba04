using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>
/// An N-d convolution (Rank 1–3 spatial dims), or its transpose. Weight is (out, in, k…) as nn.ConvNd,
/// or (in, out, k…) as nn.ConvTransposeNd. Square kernels, one stride and padding for every dim.
/// </summary>
public sealed record ConvSpec(int Rank, int In, int Out, int Kernel, int Stride = 1, int Padding = 0, bool Bias = true, bool Transposed = false)
{
    public long[] WeightShape =>
        [Transposed ? In : Out, Transposed ? Out : In, .. Enumerable.Repeat((long)Kernel, Rank)];

    public long ParameterCount => WeightShape.Aggregate(1L, (a, b) => a * b) + (Bias ? Out : 0);

    /// <summary>Output length of one spatial dim: ⌊(n + 2p − k)/s⌋ + 1, or (n − 1)s − 2p + k when transposed.</summary>
    public long OutputSize(long n) => Transposed ? (n - 1) * Stride - 2 * Padding + Kernel : (n + 2 * Padding - Kernel) / Stride + 1;

    /// <summary>Per-sample output shape (C, *spatial) for a per-sample input shape.</summary>
    public long[] OutputShape(long[] input) => [Out, .. input.Skip(1).Select(OutputSize)];

    public IEnumerable<string> Check(string path) =>
    [
        .. Rules.Require(Rank is >= 1 and <= 3, path, $"rank={Rank} must be 1, 2 or 3"),
        .. Rules.Positive(In, path, "in_channels"), .. Rules.Positive(Out, path, "out_channels"),
        .. Rules.Positive(Kernel, path, "kernel_size"), .. Rules.Positive(Stride, path, "stride"),
        .. Rules.Require(Padding >= 0, path, $"padding={Padding} must be ≥ 0"),
    ];

    /// <summary>
    /// This conv as the child <paramref name="name"/> of a block, for a per-sample <paramref name="input"/> (C, *spatial).
    /// MACs: output positions × out × in × kernel volume (a transposed conv: input positions).
    /// </summary>
    public Leaf<ConvSpec> Declare(string name, long[] input, InitScheme? init = null)
    {
        var output = OutputShape(input);
        var positions = (Transposed ? input : output).Skip(1).Aggregate(1L, (a, b) => a * b);
        var (w, b) = (init ?? InitScheme.Default).Fills(WeightShape);
        return new(this, Module.Leaf(name, Transposed ? $"ConvTranspose{Rank}d" : $"Conv{Rank}d", output,
            positions * Out * In * (long)Math.Pow(Kernel, Rank),
            new ParamSpec("weight", WeightShape, w), Bias ? new ParamSpec("bias", [Out], b) : null));
    }
}

public static class Conv
{
    /// <summary>
    /// (N, in, *spatial) → (N, out, *spatial'), in the compute type of <paramref name="w"/>'s precision — except a transposed
    /// conv, which stays float32: ATen 1.13's CPU transposed convolution rejects bfloat16 (it checks the input's channels
    /// against the weight's second dim; PyTorch 1.13 fails alike). Under bf16 a 2-D or 3-D convolution reads and writes
    /// channels-last, (N, H, W, C) or (N, D, H, W, C): oneDNN's bfloat16 kernels take that layout as it is, where an NCHW
    /// activation is reordered into oneDNN's blocked layout and the result back on every call, forward and backward (17 %
    /// of a unet28 bf16 step, README, Performance). The output stays channels-last, so the norms (the fused kernel reads
    /// either layout), sums and the next convolution keep it. These convolutions go to oneDNN through the shim's own node
    /// when it was built with oneDNN's headers (<see cref="torch.conv_channels_last"/>): ATen 1.13 has no channels-last
    /// path for 3-D, and picks slower kernels for 2-D.
    /// </summary>
    // Fixed for the process (the shim reads DIFFUSION_CONV once), so asked once rather than on every convolution.
    private static readonly Lazy<bool> OneDnnChannelsLast = new(torch.conv_channels_last);

    public static Tensor Forward(ConvSpec s, Params w, Tensor x)
    {
        if (s.Transposed)
            return F.convolution(Precisions.InFloat32(x), w["weight"], w.Optional("bias"), s.Rank, [s.Stride], [s.Padding], [1], true, [0], 1, $"conv_transpose{s.Rank}d");
        MemoryFormat? layout = w.Precision != Precision.BF16 ? null : s.Rank switch
        {
            2 => MemoryFormat.ChannelsLast,
            3 when OneDnnChannelsLast.Value => MemoryFormat.ChannelsLast3d,
            _ => null,
        };
        var input = w.ComputeInput(x);
        // ATen's 2-D path would copy a plain bf16 weight into channels-last on every call; the shim's node reads either.
        var weight = layout == MemoryFormat.ChannelsLast && !OneDnnChannelsLast.Value ? w.Compute("weight", MemoryFormat.ChannelsLast) : w.Compute("weight");
        var y = F.convolution(layout is { } f ? input.contiguous(f) : input, weight, w.ComputeOptional("bias"),
            s.Rank, [s.Stride], [s.Padding], [1], false, [0], 1, $"conv{s.Rank}d");
        // A one-channel input counts as NCHW to ATen (both layouts coincide), which then writes an NCHW result.
        return layout is { } g ? y.contiguous(g) : y;
    }

    public static Tensor Forward(this Leaf<ConvSpec> layer, Params parent, Tensor x) => Forward(layer.Spec, parent[layer], x);
}
