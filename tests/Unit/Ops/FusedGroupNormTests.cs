using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>A theory that compares the GroupNorm's AVX512-BF16 loops with the generic ones: skipped on a CPU without them.</summary>
public sealed class NormIntrinsicsTheoryAttribute : TheoryAttribute
{
    public NormIntrinsicsTheoryAttribute()
    {
        if (!torch.norm_intrinsics()) Skip = "this CPU lacks AVX512-BF16: only the generic GroupNorm loops run here";
    }
}

/// <summary>
/// The shim's fused GroupNorm(→SiLU) kernel (<c>F.group_norm(…, silu, outputType)</c>) against ATen's group_norm and
/// silu in float64 on the same input values, forward and every gradient, for float32 and bfloat16 inputs and outputs.
/// Tolerances come from the unit roundoffs u (2⁻²⁴ for float32, 2⁻⁸ for bfloat16's 8-bit significand):
/// the result is rounded once to its type (u_out·|ref|); before that everything runs in float32, where the mean is held
/// to u₃₂·|μ|, so x − μ carries an error of (|μ|/σ)·u₃₂ relative to σ, and each sum of n terms (16 lanes, then folded
/// and summed over the batch) is good to (n/16 + 4 + N)·u₃₂ of the sum of its terms' magnitudes.
/// </summary>
public class FusedGroupNormTests
{
    private const double U32 = 1.0 / (1 << 24), UBf16 = 1.0 / (1 << 8);
    private const double Eps = 1e-5;

    private static double Unit(ScalarType t) => t == ScalarType.BFloat16 ? UBf16 : U32;

    private sealed record Result(double[] Y, double[] Dx, double[]? Dw, double[]? Db);

    /// <summary>y = kernel(x), then the gradients of ⟨dy, y⟩; x in its own type, γ and β float32.</summary>
    private static Result Fused(Tensor x, Tensor? w, Tensor? b, int groups, bool silu, ScalarType output, Tensor dy)
    {
        using var scope = torch.NewDisposeScope();
        var leaf = x.detach().requires_grad_();
        var wl = w?.detach().requires_grad_();
        var bl = b?.detach().requires_grad_();
        var y = F.group_norm(leaf, groups, wl, bl, Eps, silu, output);
        Assert.Equal(output, y.dtype);
        Assert.Equal(x.shape, y.shape);
        y.backward(dy);
        Assert.Equal(x.dtype, leaf.grad!.dtype);
        return new(TensorAssert.Values(y.detach()), TensorAssert.Values(leaf.grad!), wl is null ? null : TensorAssert.Values(wl.grad!),
            bl is null ? null : TensorAssert.Values(bl.grad!));
    }

    /// <summary>ATen's float64 group_norm (and silu) on the same values: the reference.</summary>
    private static Result Reference(Tensor x, Tensor? w, Tensor? b, int groups, bool silu, Tensor dy)
    {
        using var scope = torch.NewDisposeScope();
        var leaf = x.to(ScalarType.Float64).requires_grad_();
        var wl = w?.to(ScalarType.Float64).requires_grad_();
        var bl = b?.to(ScalarType.Float64).requires_grad_();
        var z = F.group_norm(leaf, groups, wl, bl, Eps);
        var y = silu ? F.silu(z) : z;
        y.backward(dy.to(ScalarType.Float64));
        return new(TensorAssert.Values(y.detach()), TensorAssert.Values(leaf.grad!), wl is null ? null : TensorAssert.Values(wl.grad!),
            bl is null ? null : TensorAssert.Values(bl.grad!));
    }

    private static void Within(double[] expected, double[] actual, Func<int, double> tolerance, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(actual[k] - expected[k]) <= tolerance(k),
                $"{context}: element {k} is {actual[k]:R}, expected {expected[k]:R} (tolerance {tolerance(k):E2})");
    }

    public static TheoryData<ScalarType, ScalarType, bool, double, bool> Cases()
    {
        var data = new TheoryData<ScalarType, ScalarType, bool, double, bool>();
        foreach (var (input, output) in new[] { (ScalarType.Float32, ScalarType.Float32), (ScalarType.BFloat16, ScalarType.BFloat16), (ScalarType.Float32, ScalarType.BFloat16) })
            foreach (var silu in new[] { false, true })
                foreach (var offset in new[] { 0.0, 300.0 })
                    foreach (var channelsLast in new[] { false, true })
                        data.Add(input, output, silu, offset, channelsLast);
        return data;
    }

    /// <summary>x stored channels-last, (N, *spatial, C), as a bf16 convolution writes it; null for a shape without spatial dims.</summary>
    private static Tensor? ChannelsLast(Tensor x) => x.dim() switch
    {
        4 => x.contiguous(MemoryFormat.ChannelsLast),
        5 => x.contiguous(MemoryFormat.ChannelsLast3d),
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Value_and_gradients_match_float64_aten(ScalarType input, ScalarType output, bool silu, double offset, bool channelsLast)
    {
        long[][] shapes = [[2, 64, 5, 7], [2, 64, 3, 4, 5], [3, 64]]; // 2-D and 3-D spatial, and none (one position per channel)
        int[] groupings = [1, 32, 64];                                   // LayerNorm-like, the usual 32, InstanceNorm-like
        using var g = new Generator(14);
        foreach (var shape in shapes)
            foreach (var groups in groupings)
                foreach (var affine in new[] { false, true })
                {
                    using var scope = torch.NewDisposeScope();
                    var context = $"{input}→{output} silu={silu} offset={offset} shape=[{string.Join(", ", shape)}] groups={groups} affine={affine} channels-last={channelsLast}";
                    var x = (torch.randn(shape, g) + offset).to(input);          // mean ≈ offset, std ≈ 1
                    if (channelsLast)
                    {
                        if (ChannelsLast(x) is not { } stored) continue; // (N, C): no spatial dims to put the channels after
                        x = stored;
                    }
                    var channels = shape[1];
                    Tensor? w = affine ? torch.randn([channels], g) * 0.5 + 1 : null;
                    Tensor? b = affine ? torch.randn([channels], g) * 0.5 : null;
                    var dy = torch.randn(shape, g).to(output);
                    var ours = Fused(x, w, b, groups, silu, output, dy);
                    var exact = Reference(x, w, b, groups, silu, dy);

                    // Per group g (float64): μ_g and r_g = 1/√(σ²_g + ε). Float32's μ costs |μ_g|·r_g·u₃₂ relative to σ_g, and
                    // each sum of the M elements of a group is good to (M/16 + 16)·u₃₂ of its terms' magnitudes — channels-last:
                    // per channel in blocks of 32 positions, then over blocks and over the group's channels.
                    var n = (int)shape[0];
                    var perGroup = (int)(x.numel() / (n * groups));
                    var positions = perGroup / (int)(channels / groups);
                    var grouped = x.to(ScalarType.Float64).reshape(n * groups, perGroup);
                    var mu = TensorAssert.Values(grouped.mean([1]));
                    var r = TensorAssert.Values((grouped.var(1, unbiased: false) + Eps).rsqrt());
                    var xhatMax = TensorAssert.Values(((grouped - grouped.mean([1], keepdim: true)).abs().amax([1]))).Select((d, k) => d * r[k]).ToArray();
                    var terms = channelsLast ? Math.Min(positions, 32) + positions / 32.0 + channels / groups : perGroup / 16.0;
                    double Arithmetic(int group) => (terms + 16 + Math.Abs(mu[group]) * r[group]) * U32;
                    var gammaMax = w is null ? 1 : TensorAssert.Values(w.abs()).Max();
                    var u = Unit(output);

                    // Forward: y = (x − μ)·r·γ + β, SiLU with |silu′| < 1.1 on top; rounding to the output type last.
                    Within(exact.Y, ours.Y, k => u * Math.Abs(exact.Y[k]) + 8 * Arithmetic(k / perGroup) * gammaMax * (1 + xhatMax[k / perGroup]),
                        context + " y");

                    // dx = r·γ·dz − (r/M)·Σγdz − r·x̂·Σγdz·x̂/M: terms of size ≲ r·|γ|·max|dz|·(2 + |x̂|) that cancel;
                    // rounded to x's type at the end.
                    var dzMax = TensorAssert.Values(dy.abs()).Max() * (silu ? 1.1 : 1);
                    Within(exact.Dx, ours.Dx, k => Unit(input) * Math.Abs(exact.Dx[k])
                        + 8 * Arithmetic(k / perGroup) * r[k / perGroup] * gammaMax * dzMax * (2 + xhatMax[k / perGroup]), context + " dx");

                    if (affine)
                    {
                        // dγ_c = Σ_{n,s} dz·x̂ and dβ_c = Σ_{n,s} dz: N·positions terms of size ≤ max|dz|·max|x̂| (and max|dz|),
                        // summed in 16 lanes per sample, then over the N samples.
                        var worst = Enumerable.Range(0, n * groups).Max(Arithmetic) + (n + 4) * U32;
                        var sum = (double)n * positions * dzMax;
                        Within(exact.Dw!, ours.Dw!, _ => 8 * worst * sum * (1 + xhatMax.Max()), context + " dγ");
                        Within(exact.Db!, ours.Db!, _ => 8 * worst * sum, context + " dβ");
                    }
                }
    }

    [Theory]
    [InlineData(false, 64)]
    [InlineData(true, 64)]
    [InlineData(true, 96)]   // 10 rows to a tile of the kernel's 1024 elements, not filling it
    [InlineData(true, 1056)] // rows wider than a tile: cut into slices of 1024 channels
    [InlineData(false, 40)]  // tiles of 25 rows, 1,000 elements: a vector loop's tail of 8 (norm_kernels_avx512.cpp masks it)
    [InlineData(true, 40)]
    public void Channels_last_input_gives_a_channels_last_result_equal_to_the_contiguous_ones(bool silu, int channels)
    {
        var groups = channels % 32 == 0 ? 32 : 8;
        // The layout a bf16 convolution writes (README, Precision): the kernel keeps it, and sums in another order only.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(19);
        var x = torch.randn([3, channels, 9, 7], g).to(ScalarType.BFloat16);
        var w = torch.randn([channels], g);
        var b = torch.randn([channels], g);
        var dy = torch.randn([3, channels, 9, 7], g).to(ScalarType.BFloat16);
        var stored = x.contiguous(MemoryFormat.ChannelsLast);
        Assert.False(stored.is_contiguous());
        Assert.True(F.group_norm(stored, groups, w, b, Eps, silu, ScalarType.BFloat16).is_contiguous(MemoryFormat.ChannelsLast));
        var last = Fused(stored, w, b, groups, silu, ScalarType.BFloat16, dy.contiguous(MemoryFormat.ChannelsLast));
        var first = Fused(x, w, b, groups, silu, ScalarType.BFloat16, dy);
        // Both round to bfloat16 at the end: at most one unit of its last place apart (plus float32 noise in the sums).
        Within(first.Y, last.Y, k => 2 * UBf16 * Math.Abs(first.Y[k]) + 1e-5, "y");
        Within(first.Dx, last.Dx, k => 2 * UBf16 * Math.Abs(first.Dx[k]) + 1e-4, "dx");
        Within(first.Dw!, last.Dw!, k => 1e-4 * (1 + Math.Abs(first.Dw![k])), "dγ");
        Within(first.Db!, last.Db!, k => 1e-4 * (1 + Math.Abs(first.Db![k])), "dβ");
    }

    [NormIntrinsicsTheory]
    [InlineData(false, 64)]
    [InlineData(true, 64)]
    [InlineData(true, 40)] // partial vectors at the ends of tiles
    public void Avx512_and_generic_loops_agree_on_bfloat16_channels_last(bool silu, int channels)
    {
        // The bf16 channels-last tiles run on AVX512-BF16 intrinsics where the CPU has them (norm_kernels_avx512.cpp);
        // the generic loops serve every other CPU, so both are held to each other here (the float64 tests above see
        // whichever this CPU runs).
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(23);
        var x = (torch.randn([3, channels, 9, 7], g) + 2).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast);
        var w = torch.randn([channels], g);
        var b = torch.randn([channels], g);
        var dy = torch.randn([3, channels, 9, 7], g).to(ScalarType.BFloat16).contiguous(MemoryFormat.ChannelsLast);
        var fast = Fused(x, w, b, 8, silu, ScalarType.BFloat16, dy);
        Result generic;
        torch.set_norm_intrinsics(false);
        try
        {
            Assert.False(torch.norm_intrinsics());
            generic = Fused(x, w, b, 8, silu, ScalarType.BFloat16, dy);
        }
        finally
        {
            torch.set_norm_intrinsics(true);
        }
        // The same float32 arithmetic in another order, each rounded once to bfloat16: one unit of its last place apart.
        Within(generic.Y, fast.Y, k => 2 * UBf16 * Math.Abs(generic.Y[k]) + 1e-5, "y");
        Within(generic.Dx, fast.Dx, k => 2 * UBf16 * Math.Abs(generic.Dx[k]) + 1e-4, "dx");
        Within(generic.Dw!, fast.Dw!, k => 1e-4 * (1 + Math.Abs(generic.Dw![k])), "dγ");
        Within(generic.Db!, fast.Db!, k => 1e-4 * (1 + Math.Abs(generic.Db![k])), "dβ");
    }

    [Theory]
    [InlineData(500.0)]   // the sampled rows far above the rest, or below: a rough mean far from the true one
    [InlineData(-3000.0)]
    public void A_rough_mean_from_the_first_rows_still_gives_float32_statistics(double firstRows)
    {
        // Channels-last statistics take a group's rough mean from its first rows only (group_norm.cpp, forward_rows); the
        // second pass corrects it exactly, so data whose first rows are unlike the rest must still normalise as in float64.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(29);
        var x = torch.randn([2, 8, 64, 64], g);
        x.narrow(2, 0, 2).add_(firstRows);                                  // the first 128 of 4,096 rows (of a 256-row sample)
        var stored = x.contiguous(MemoryFormat.ChannelsLast);
        var dy = torch.randn([2, 8, 64, 64], g);
        var ours = Fused(stored, null, null, 2, false, ScalarType.Float32, dy.contiguous(MemoryFormat.ChannelsLast));
        var exact = Reference(x, null, null, 2, false, dy);
        // Normalised values of size up to ~6 (the shifted rows) in float32: a few units of u₃₂ of them, not of the offset.
        Within(exact.Y, ours.Y, k => 64 * U32 * (1 + Math.Abs(exact.Y[k])), "y");
        Within(exact.Dx, ours.Dx, k => 1e-4 * (1 + Math.Abs(exact.Dx[k])), "dx");
    }

    [Fact]
    public void Bfloat16_statistics_at_a_large_offset_keep_the_spread()
    {
        // A bfloat16 x with mean 300 and std 1: a bfloat16 mean and variance would lose the spread (README, Precision);
        // float32 statistics normalise it to unit variance.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(15);
        var x = (torch.randn([4, 32, 16, 16], g) + 300).to(ScalarType.BFloat16);
        var y = F.group_norm(x, 8, null, null, Eps, false, ScalarType.Float32).reshape(4, 8, -1); // (N, G, M)
        var variance = TensorAssert.Values(y.var(2, unbiased: false));
        Assert.All(variance, v => Assert.InRange(v, 1 - 1e-3, 1 + 1e-3));
    }

    [Fact]
    public void Strided_input_gives_bitwise_what_its_contiguous_copy_gives()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(16);
        var w = torch.randn([16], g);
        var b = torch.randn([16], g);
        var strided = torch.randn([5, 5, 16, 4], g).to(ScalarType.BFloat16).permute(1, 2, 0, 3); // (5, 16, 5, 4), not contiguous
        Assert.False(strided.is_contiguous());
        var dy = torch.randn([5, 16, 5, 4], g).to(ScalarType.BFloat16);
        var a = Fused(strided, w, b, 4, true, ScalarType.BFloat16, dy);
        var c = Fused(strided.contiguous(), w, b, 4, true, ScalarType.BFloat16, dy);
        Assert.Equal(c.Y, a.Y);
        Assert.Equal(c.Dx, a.Dx);
        Assert.Equal(c.Dw, a.Dw);
        Assert.Equal(c.Db, a.Db);
    }

    [Fact]
    public void Two_threads_compute_bitwise_what_one_does()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(17);
        var x = torch.randn([8, 64, 28, 28], g).to(ScalarType.BFloat16); // several parallel chunks of groups
        var w = torch.randn([64], g);
        var b = torch.randn([64], g);
        var dy = torch.randn([8, 64, 28, 28], g).to(ScalarType.BFloat16);
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            var one = Fused(x, w, b, 32, true, ScalarType.BFloat16, dy);
            torch.set_num_threads(2);
            var two = Fused(x, w, b, 32, true, ScalarType.BFloat16, dy);
            Assert.Equal(one.Y, two.Y);
            Assert.Equal(one.Dx, two.Dx);
            Assert.Equal(one.Dw, two.Dw);
            Assert.Equal(one.Db, two.Db);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void Double_backward_matches_the_aten_composition()
    {
        // With create_graph the kernel's backward defers to ATen's group_norm and silu, so second derivatives exist.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(18);
        var x = torch.randn([2, 8, 3, 3], g);
        var w = torch.randn([8], g);
        var b = torch.randn([8], g);
        double[] SecondOrder(Func<Tensor, Tensor, Tensor, Tensor> f)
        {
            var xl = x.detach().requires_grad_();
            var wl = w.detach().requires_grad_();
            var bl = b.detach().requires_grad_();
            var dx = torch.autograd.grad(f(xl, wl, bl).pow(2).sum(), xl, createGraph: true);
            dx.pow(2).sum().backward();
            return [.. TensorAssert.Values(xl.grad!), .. TensorAssert.Values(wl.grad!)];
        }
        var ours = SecondOrder((xl, wl, bl) => F.group_norm(xl, 4, wl, bl, Eps, true, ScalarType.Float32));
        var aten = SecondOrder((xl, wl, bl) =>
        {
            var z = F.group_norm(xl, 4, wl, bl, Eps);
            return z * F.sigmoid(z); // ATen 1.13's silu has no second derivative
        });
        TensorAssert.Close(aten, ours, rtol: 1e-4, atol: 1e-4, context: "second derivatives");
    }

    [Fact]
    public void Bad_shapes_and_types_are_clear_errors()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(2, 6, 4, 4);
        Assert.Contains("groups=4 must be positive and divide the 6 channels", Assert.Throws<TorchException>(() => F.group_norm(x, 4, null, null, Eps, true, ScalarType.BFloat16)).Message);
        Assert.Contains("(N, C, *spatial)", Assert.Throws<TorchException>(() => F.group_norm(torch.ones(6), 3, null, null, Eps, true, ScalarType.BFloat16)).Message);
        Assert.Contains("float32 or bfloat16 input, got Double", Assert.Throws<TorchException>(() => F.group_norm(x.to(ScalarType.Float64), 3, null, null, Eps, true, ScalarType.BFloat16)).Message);
        Assert.Contains("writes float32 or bfloat16, not Long", Assert.Throws<TorchException>(() => F.group_norm(x, 3, null, null, Eps, true, ScalarType.Int64)).Message);
        Assert.Contains("weight must have shape (6)", Assert.Throws<TorchException>(() => F.group_norm(x, 3, torch.ones(5), null, Eps, true, ScalarType.BFloat16)).Message);
        Assert.Contains("bias must be float32, got BFloat16", Assert.Throws<TorchException>(() => F.group_norm(x, 3, null, torch.ones(6).to(ScalarType.BFloat16), Eps, false, ScalarType.Float32)).Message);
    }
}
