using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>A bfloat16 3×3 convolution outside autograd that the shim runs by Winograd's F(2×2, 3×3).</summary>
public sealed class WinogradFactAttribute : FactAttribute
{
    public WinogradFactAttribute() => Skip = WinogradTheoryAttribute.Missing();
}

/// <inheritdoc cref="WinogradFactAttribute"/>
public sealed class WinogradTheoryAttribute : TheoryAttribute
{
    public WinogradTheoryAttribute() => Skip = Missing();

    internal static string? Missing() => torch.winograd()
        ? null
        : "no Winograd convolutions here: the shim was built without oneDNN's headers (libdnnl-dev), the CPU lacks AVX512-BF16, or DIFFUSION_WINOGRAD=0";
}

/// <summary>
/// The shim's Winograd F(2×2, 3×3) convolution (native/src/conv_winograd.cpp; Lavin &amp; Gray 2016, eq. 8) against
/// float64 on the same bfloat16 values, beside the direct oneDNN kernel's own error: image sides odd and even (tiles
/// past the edge), channel counts off the 16-lane blocks, bias or none, plain and channels-last weights; which
/// convolutions it serves; and the transformed weights it keeps between calls, redone when the weight changes.
/// </summary>
public class WinogradTests
{
    private const double Bf16Unit = 1.0 / 256; // 2⁻⁸, bfloat16's unit roundoff

    public static TheoryData<long, long, long, long, long, bool, bool> Shapes => new()
    {
        // batch, in channels, out channels, height, width, bias, channels-last weight
        { 2, 128, 128, 8, 8, true, true },
        { 3, 136, 128, 9, 11, false, true }, // odd sides: the last tile row and column half outside; 136 = 8·16 + 8 lanes
        { 1, 128, 129, 16, 13, true, false }, // plain (K, C, 3, 3) weight, 129 outputs: one lane in the last block
        { 2, 144, 128, 10, 8, false, false },
        { 3, 128, 128, 62, 66, true, true },  // 3 · 31 · 33 = 3069 tiles: two chunks of 1535 (conv_winograd.cpp), the second padded by one
    };

    [WinogradTheory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_float64_within_a_small_multiple_of_the_direct_kernels_error(long n, long c, long k, long h, long w,
        bool bias, bool channelsLastWeight)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(41);
        using var off = torch.no_grad();
        var x = torch.randn([n, c, h, w], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast);
        var weight = (torch.randn([k, c, 3, 3], g) / Math.Sqrt(9.0 * c)).to(ScalarType.BFloat16);
        if (channelsLastWeight) weight = weight.contiguous(MemoryFormat.ChannelsLast);
        var b = bias ? torch.randn([k], g).to(ScalarType.BFloat16) : null;
        var exact = F.conv2d(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), b?.to(ScalarType.Float64), 1, 1);

        var (winograd, ranWinograd) = Conv(x, weight, b);
        Tensor direct;
        torch.set_winograd(false);
        try
        {
            (direct, var ranAnyway) = Conv(x, weight, b);
            Assert.False(ranAnyway, "switched off, the direct kernel serves");
        }
        finally
        {
            torch.set_winograd(true);
        }
        Assert.True(ranWinograd, "this convolution takes the Winograd path");
        Assert.Equal(ScalarType.BFloat16, winograd.dtype);
        Assert.True(winograd.is_contiguous(MemoryFormat.ChannelsLast), "the result stays channels-last");
        Assert.Equal(exact.shape, winograd.shape);

        // The direct kernel rounds once (its output): about 2⁻⁸/√3 of the norm. Winograd also rounds the transformed input
        // (sums of up to four values) and the transformed weight, then sums nine products per output in float32: a few
        // roundings of comparable size. Measured on these shapes: 3.0–4.4·10⁻³ against the direct kernel's 1.6–1.7·10⁻³.
        var directError = ConvGradients.RelativeError(direct, exact);
        var winogradError = ConvGradients.RelativeError(winograd, exact);
        var context = $"n {n}, {c}→{k}, {h}×{w}, bias {bias}, channels-last weight {channelsLastWeight}: Winograd {winogradError:E2}, direct {directError:E2}";
        Assert.True(directError < Bf16Unit, context);
        Assert.True(winogradError < 4 * directError, context);
        Assert.True(winogradError < 2 * Bf16Unit, context);
    }

    [WinogradFact]
    public void Serves_only_unrecorded_3x3_stride_1_convolutions_large_enough_to_pay()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(42);
        Tensor Image(long c, long side) => torch.randn([2, c, side, side], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast);
        Tensor Weight(long k, long c, long size) => (torch.randn([k, c, size, size], g) * 0.05).to(ScalarType.BFloat16);
        bool Ran(Tensor x, Tensor w, long stride = 1, long padding = 1) =>
            torch.profiler.measure(() => F.conv2d(x, w, null, stride, padding).Dispose()).Any(op => op.Name == "dt::conv_winograd");

        using (torch.no_grad())
        {
            Assert.True(Ran(Image(128, 8), Weight(128, 128, 3)));
            Assert.False(Ran(Image(128, 4), Weight(128, 128, 3)), "a 4×4 image: too few tiles");
            Assert.False(Ran(Image(64, 16), Weight(128, 64, 3)), "64 input channels: bound by the transforms");
            Assert.False(Ran(Image(128, 16), Weight(64, 128, 3)), "64 output channels");
            Assert.False(Ran(Image(128, 16), Weight(128, 128, 3), stride: 2), "stride 2");
            Assert.False(Ran(Image(128, 16), Weight(128, 128, 1), padding: 0), "a 1×1 kernel");
            Assert.False(Ran(Image(128, 16).contiguous(), Weight(128, 128, 3)), "an NCHW image (ATen's path)");
        }
        // Recorded by autograd: the direct kernel, whose backward matches its forward.
        var w = Weight(128, 128, 3).requires_grad_();
        Assert.False(Ran(Image(128, 16), w));
    }

    [WinogradFact]
    public void Transformed_weights_are_kept_while_the_weight_is_unchanged_and_redone_when_it_changes()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(43);
        using var off = torch.no_grad();
        var x = torch.randn([2, 128, 12, 12], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast);
        var w = (torch.randn([128, 128, 3, 3], g) * 0.03).to(ScalarType.BFloat16);
        (Tensor Y, int Transforms) Run()
        {
            Tensor? y = null;
            var ops = torch.profiler.measure(() => y = F.conv2d(x, w, null, 1, 1));
            return (y!, Transforms(ops));
        }

        var first = Run();
        var again = Run();
        Assert.Equal(1, first.Transforms);
        Assert.Equal(0, again.Transforms);
        Assert.Equal(TensorAssert.Values(first.Y), TensorAssert.Values(again.Y));

        // In place: the version counter moves, so the cached transform must not serve.
        w.mul_(-2.0);
        var changed = Run();
        Assert.Equal(1, changed.Transforms);
        var exact = F.conv2d(x.to(ScalarType.Float64), w.to(ScalarType.Float64), null, 1, 1);
        Assert.True(ConvGradients.RelativeError(changed.Y, exact) < 3 * Bf16Unit, "the changed weight is the one used");

        // A new tensor with the same values (a new sampling run's bf16 copies) is transformed afresh and agrees.
        var copy = w.clone();
        Tensor? fromCopy = null;
        var ops = torch.profiler.measure(() => fromCopy = F.conv2d(x, copy, null, 1, 1));
        Assert.Equal(1, Transforms(ops));
        Assert.Equal(TensorAssert.Values(changed.Y), TensorAssert.Values(fromCopy!));
    }

    private static int Transforms(IEnumerable<OpStat> ops) => (int)ops.Where(op => op.Name == "dt::winograd_weight").Sum(op => op.Calls);

    private static (Tensor Y, bool RanWinograd) Conv(Tensor x, Tensor w, Tensor? b)
    {
        Tensor? y = null;
        var ops = torch.profiler.measure(() => y = F.conv2d(x, w, b, 1, 1));
        return (y!, ops.Any(op => op.Name == "dt::conv_winograd"));
    }
}
