using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>A bfloat16 3-D convolution whose weight gradient the shim computes with samples paired in AVX512-BF16.</summary>
public sealed class PairedWeightGradientFactAttribute : FactAttribute
{
    public PairedWeightGradientFactAttribute() => Skip = PairedWeightGradientTheoryAttribute.Missing();
}

/// <inheritdoc cref="PairedWeightGradientFactAttribute"/>
public sealed class PairedWeightGradientTheoryAttribute : TheoryAttribute
{
    public PairedWeightGradientTheoryAttribute() => Skip = Missing();

    internal static string? Missing() => !torch.conv_channels_last()
        ? "the shim was built without oneDNN's headers (libdnnl-dev), or DIFFUSION_CONV=aten: no shim convolution node to take the gradient from"
        : torch.paired_weight_gradients()
            ? null
            : "no paired weight gradients here: the CPU lacks AVX512-BF16, or DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0";
}

/// <summary>
/// The shim's paired weight gradient (native/src/conv_weight_grad.cpp) against float64 on the same bfloat16 values,
/// beside oneDNN's backward-weights kernel on the same step: odd batches (the last pair half zero), kernels of 3 and 5,
/// input channels in one, two, three and five 16-lane vectors (its register blocks), output channels in blocks of 8 and
/// 16, bias or none, plain and channels-last weights; and which convolutions it serves.
/// </summary>
public class PairedWeightGradientTests
{
    private const double Bf16Unit = 1.0 / 256; // 2⁻⁸, bfloat16's unit roundoff

    public static TheoryData<long, long, long, long[], long, bool, bool> Shapes => new()
    {
        // batch, in channels, out channels, depth × height × width, kernel, bias, channels-last weight
        { 2, 16, 16, [6, 7, 5], 3, true, false },
        { 3, 32, 24, [4, 5, 6], 3, false, true }, // odd batch; 24 outputs: blocks of 8
        { 2, 48, 8, [5, 4, 9], 3, true, false },  // three input vectors: one block of 8 × 3
        { 4, 16, 32, [6, 6, 6], 5, true, true },  // 5×5×5, padding 2
        { 5, 80, 16, [3, 4, 5], 3, false, false }, // five input vectors: a group of 2, then one of 3
        { 2, 64, 32, [8, 8, 8], 3, true, true },
    };

    [PairedWeightGradientTheory]
    [MemberData(nameof(Shapes))]
    public void Gradients_match_float64_as_closely_as_onednns(long n, long c, long k, long[] volume, long kernel, bool bias,
        bool channelsLastWeight)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(51);
        var x = torch.randn([n, c, .. volume], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast3d);
        var w = (torch.randn([k, c, kernel, kernel, kernel], g) / Math.Sqrt(kernel * kernel * kernel * c)).to(ScalarType.BFloat16);
        if (channelsLastWeight) w = w.contiguous(MemoryFormat.ChannelsLast3d);
        var b = bias ? torch.randn([k], g).to(ScalarType.BFloat16) : null;
        var dy = torch.randn([n, k, .. volume], g).to(ScalarType.BFloat16);
        var padding = kernel / 2;

        var (paired, ranPaired) = Gradients(x, w, b, padding, dy);
        ConvGradients onednn;
        torch.set_paired_weight_gradients(false);
        try
        {
            (onednn, var ranAnyway) = Gradients(x, w, b, padding, dy);
            Assert.False(ranAnyway, "switched off, oneDNN's kernel serves");
        }
        finally
        {
            torch.set_paired_weight_gradients(true);
        }
        var exact = ConvGradients.Of(3, x.to(ScalarType.Float64), w.to(ScalarType.Float64), b?.to(ScalarType.Float64), 1, padding,
            dy.to(ScalarType.Float64));

        Assert.True(ranPaired, "this convolution's weight gradient takes the paired path");
        Assert.Equal(ScalarType.BFloat16, paired.Dw.dtype);
        Assert.Equal(w.shape, paired.Dw.shape);
        // The input gradient is oneDNN's either way.
        Assert.Equal(TensorAssert.Values(onednn.Dx), TensorAssert.Values(paired.Dx));
        // Both sum in float32 and round once to bfloat16, so the rounding dominates both errors (about 2⁻⁸/√3 of the
        // norm); the float32 sums differ only in their order. Measured on these shapes: 1.65–1.67·10⁻³ for both, equal
        // to three digits.
        var context = $"n {n}, {c}→{k}, {string.Join('×', volume)}, kernel {kernel}, bias {bias}";
        var pairedError = ConvGradients.RelativeError(paired.Dw, exact.Dw);
        var onednnError = ConvGradients.RelativeError(onednn.Dw, exact.Dw);
        Assert.True(pairedError < Bf16Unit, $"{context}: weight gradient {pairedError:E2}");
        Assert.True(pairedError < 1.1 * onednnError, $"{context}: weight gradient {pairedError:E2} against oneDNN's {onednnError:E2}");
        if (bias)
        {
            var biasError = ConvGradients.RelativeError(paired.Db!, exact.Db!);
            Assert.True(biasError < Bf16Unit, $"{context}: bias gradient {biasError:E2}");
            Assert.True(biasError <= 1.1 * ConvGradients.RelativeError(onednn.Db!, exact.Db!) + 1e-6, $"{context}: bias gradient {biasError:E2}");
        }
    }

    [PairedWeightGradientFact]
    public void Serves_only_stride_1_same_padded_volumes_of_whole_channel_blocks_and_two_samples_or_more()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(52);
        bool Ran(long n, long c, long k, long kernel, long stride = 1, long? padding = null, int rank = 3, bool weightGrad = true)
        {
            long[] spatial = rank == 3 ? [4, 4, 4] : [6, 6];
            var layout = rank == 3 ? MemoryFormat.ChannelsLast3d : MemoryFormat.ChannelsLast;
            var x = torch.randn([n, c, .. spatial], g).to(ScalarType.BFloat16).contiguous(layout).requires_grad_();
            var w = (torch.randn([k, c, .. Enumerable.Repeat(kernel, rank)], g) * 0.05).to(ScalarType.BFloat16).requires_grad_(weightGrad);
            return torch.profiler.measure(() =>
            {
                var y = F.convolution(x, w, null, rank, [stride], [padding ?? kernel / 2], [1], false, [0], 1, "conv");
                y.sum().backward();
            }).Any(op => op.Name == "dt::conv_weight_grad");
        }

        Assert.True(Ran(2, 16, 8, 3));
        Assert.True(Ran(3, 32, 16, 5));
        Assert.False(Ran(1, 16, 16, 3), "one sample: half of every pair would be zero");
        Assert.False(Ran(2, 8, 16, 3), "8 input channels: not a whole 16-lane vector");
        Assert.False(Ran(2, 16, 12, 3), "12 output channels: not whole blocks of 8");
        Assert.False(Ran(2, 16, 16, 3, stride: 2), "stride 2");
        Assert.False(Ran(2, 16, 16, 3, padding: 0), "a valid (unpadded) convolution");
        Assert.False(Ran(2, 16, 16, 1), "a 1×1×1 kernel: oneDNN's 1x1 kernel");
        Assert.False(Ran(2, 16, 16, 3, rank: 2), "a 2-D image: oneDNN's kernel was as fast in unet28's step");
        Assert.False(Ran(2, 16, 16, 3, weightGrad: false), "no weight gradient wanted");
    }

    private static (ConvGradients Result, bool RanPaired) Gradients(Tensor x, Tensor w, Tensor? b, long padding, Tensor dy)
    {
        ConvGradients? result = null;
        var ops = torch.profiler.measure(() => result = ConvGradients.Of(3, x, w, b, 1, padding, dy));
        return (result!, ops.Any(op => op.Name == "dt::conv_weight_grad"));
    }
}
