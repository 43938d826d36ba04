using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// float32 <c>linear</c> runs on oneDNN's sgemm (native/src/gemm.cpp) and bfloat16 <c>linear</c> on cached oneDNN matmul
/// primitives (native/src/linear_bf16.cpp), each with its own backward; these check them, forward and gradients, against
/// the same computation in a wider type (which ATen serves) over the layouts a model produces.
/// </summary>
public class GemmTests
{
    public static TheoryData<long[], long, bool, bool> Layouts => new()
    {
        // input shape, out features, bias, input transposed (non-contiguous)
        { [7, 5], 3, true, false },
        { [7, 5], 3, false, false },
        { [4, 6, 33], 65, true, false },          // (N, T, D) tokens, as DiT and U-ViT feed it
        { [300, 257], 129, true, false },         // large enough for oneDNN to split across threads
        { [9, 12], 16, true, true },
        { [1, 1], 1, true, false },
    };

    [Theory, MemberData(nameof(Layouts))]
    public void Float32_linear_matches_float64_forward_and_gradients(long[] shape, long outFeatures, bool bias, bool transposed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        var inFeatures = shape[^1];
        var x64 = transposed ? torch.randn([inFeatures, shape[0]], g, ScalarType.Float64).T : torch.randn(shape, g, ScalarType.Float64);
        var w64 = torch.randn([outFeatures, inFeatures], g, ScalarType.Float64);
        var b64 = bias ? torch.randn([outFeatures], g, ScalarType.Float64) : null;
        var x = x64.@float().requires_grad_();
        var w = w64.@float().requires_grad_();
        var b = b64?.@float().requires_grad_();
        x64.requires_grad_(); w64.requires_grad_(); b64?.requires_grad_();

        var y = F.linear(x, w, b);
        var y64 = F.linear(x64, w64, b64);
        Assert.Equal(y64.shape, y.shape);
        var tol = 1e-5 * Math.Sqrt(inFeatures);
        TensorAssert.Close(y64.ToArray<double>(), y.@double(), tol, tol);

        var r = torch.randn(y.shape, g, ScalarType.Float64);  // a random cotangent, so every output element matters
        (y * r.@float()).sum().backward();
        (y64 * r).sum().backward();
        TensorAssert.Close(x64.grad!.ToArray<double>(), x.grad!.@double(), tol, tol);
        TensorAssert.Close(w64.grad!.ToArray<double>(), w.grad!.@double(), 1e-5 * Math.Sqrt(y.numel()), tol);
        if (bias) TensorAssert.Close(b64!.grad!.ToArray<double>(), b!.grad!.@double(), 1e-5 * Math.Sqrt(y.numel()), tol);
    }

    public static TheoryData<long[], long, bool, bool> Bfloat16Layouts => new()
    {
        // input shape, out features, bias, input transposed (non-contiguous)
        { [7, 5], 3, true, false },
        { [4, 6, 33], 65, false, false },
        { [300, 257], 129, true, true },
        { [1024, 64], 512, true, false },   // the forward and input-gradient products take the blocked weight (linear_bf16.cpp)
        { [2, 1030, 40], 800, true, false },
        { [1, 1], 1, true, false },
    };

    /// <summary>
    /// bfloat16 in, bfloat16 out, float32 accumulation: on the same bfloat16 values the output and the three gradients are
    /// the float32 ones rounded once (unit roundoff 2⁻⁸, so about 2⁻⁸/√3 ≈ 2.3e-3 of the norm).
    /// </summary>
    [Theory, MemberData(nameof(Bfloat16Layouts))]
    public void Bfloat16_linear_is_float32_linear_rounded_once(long[] shape, long outFeatures, bool bias, bool transposed)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(14);
        var inFeatures = shape[^1];
        var x32 = (transposed ? torch.randn([inFeatures, shape[0]], g).T : torch.randn(shape, g)).to(ScalarType.BFloat16).to(ScalarType.Float32);
        var w32 = torch.randn([outFeatures, inFeatures], g).to(ScalarType.BFloat16).to(ScalarType.Float32);
        var b32 = bias ? torch.randn([outFeatures], g).to(ScalarType.BFloat16).to(ScalarType.Float32) : null;
        var x = x32.to(ScalarType.BFloat16).requires_grad_();
        var w = w32.to(ScalarType.BFloat16).requires_grad_();
        var b = b32?.to(ScalarType.BFloat16).requires_grad_();
        if (transposed) x = x32.T.contiguous().to(ScalarType.BFloat16).T.detach().requires_grad_();
        x32.requires_grad_(); w32.requires_grad_(); b32?.requires_grad_();

        var y = F.linear(x, w, b);
        var y32 = F.linear(x32, w32, b32);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(y32.shape, y.shape);
        var dy = torch.randn(y.shape, g).to(ScalarType.BFloat16);
        y.backward(dy);
        y32.backward(dy.to(ScalarType.Float32));
        Assert.True(ConvGradients.RelativeError(y, y32) < 4e-3, "forward");
        Assert.True(ConvGradients.RelativeError(x.grad!, x32.grad!) < 4e-3, "input gradient");
        Assert.True(ConvGradients.RelativeError(w.grad!, w32.grad!) < 4e-3, "weight gradient");
        Assert.Equal(ScalarType.BFloat16, w.grad!.dtype);
        if (bias) Assert.True(ConvGradients.RelativeError(b!.grad!, b32!.grad!) < 4e-3, "bias gradient");
    }

    /// <summary>
    /// The shim keeps one oneDNN primitive per shape up to 1024 shapes and then drops the least recently used
    /// (native/src/onednn.h): more shapes than that, then the first again, still give right products.
    /// </summary>
    [Fact]
    public void Bfloat16_linear_stays_right_past_the_primitive_cache_capacity()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(15);
        var w = torch.randn([3, 4], g).to(ScalarType.BFloat16);
        void Check(long rows)
        {
            using var inner = torch.NewDisposeScope();
            var x = torch.randn([rows, 4], g).to(ScalarType.BFloat16);
            var exact = F.linear(x.to(ScalarType.Float32), w.to(ScalarType.Float32));
            Assert.True(ConvGradients.RelativeError(F.linear(x, w), exact) < 4e-3, $"{rows} rows");
        }
        for (long rows = 1; rows <= 1100; rows++) Check(rows);
        Check(1);
        Check(1100);
    }

    [Fact]
    public void Only_the_inputs_that_require_grad_get_a_gradient()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(12);
        var x = torch.randn([8, 4], g).requires_grad_();
        var w = torch.randn([3, 4], g);
        var b = torch.randn([3], g);
        F.linear(x, w, b).sum().backward();
        Assert.NotNull(x.grad);
        Assert.Null(w.grad);
        Assert.Null(b.grad);
        // d/dx Σ (x wᵀ + b) = 1 · w: every row of the gradient is the column sums of w.
        TensorAssert.Close(w.sum(0).expand(8, 4).contiguous().@double().ToArray<double>(), x.grad!.@double(), 1e-6, 1e-6);
    }

    [Fact]
    public void Without_grad_mode_no_graph_is_recorded()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(13);
        var w = torch.randn([3, 4], g).requires_grad_();
        using (torch.no_grad()) Assert.False(F.linear(torch.randn([2, 4], g), w).requires_grad);
        Assert.True(F.linear(torch.randn([2, 4], g), w).requires_grad);
    }

    [Fact]
    public void Mismatched_features_fail_with_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => F.linear(torch.zeros([2, 5]), torch.zeros([3, 4])));
        Assert.Contains("[2, 5]", e.Message);
        Assert.Contains("[3, 4]", e.Message);
    }

    [Fact]
    public void The_gemm_backend_is_onednn_exactly_when_libtorch_loaded_a_shared_onednn()
    {
        var optedOut = Environment.GetEnvironmentVariable("DIFFUSION_GEMM") == "aten";
        _ = torch.zeros([1]);  // make sure the shim (and with it libtorch) is loaded
        var sharedOneDnn = File.ReadLines("/proc/self/maps").Any(l => l.Contains("libdnnl.so.2"));
        Assert.Equal(sharedOneDnn && !optedOut ? "onednn" : "aten", torch.gemm_backend());
    }
}
