using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>
/// Nearest ×2 upsampling of channels-last activations (the shim's kernel, native/src/upsample.cpp) against ATen's on
/// the same values stored NCHW: the forward is a copy, so equal bit for bit; the gradient sums each block of 4 (2-D) or
/// 8 (3-D) children, compared with the sum in float64 rounded to the gradient's type.
/// </summary>
public class UpsampleNearestTests
{
    public static TheoryData<int, ScalarType> Cases() => new()
    {
        { 2, ScalarType.Float32 }, { 2, ScalarType.BFloat16 }, { 3, ScalarType.Float32 }, { 3, ScalarType.BFloat16 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Channels_last_upsampling_matches_aten_forward_and_backward(int rank, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        long[] shape = rank == 2 ? [3, 5, 7, 6] : [2, 5, 3, 4, 6];
        var format = rank == 2 ? MemoryFormat.ChannelsLast : MemoryFormat.ChannelsLast3d;
        var x = torch.randn(shape, g).to(dtype);
        var stored = x.contiguous(format).requires_grad_();
        var y = F.interpolate(stored, scaleFactor: 2);
        Assert.True(y.is_contiguous(format), "the output keeps the channels-last layout");
        var expected = F.interpolate(x.contiguous(), scaleFactor: 2); // ATen on NCHW
        Assert.Equal(expected.shape, y.shape);
        Assert.Equal(0.0, (y.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>());

        var dy = torch.randn(y.shape, g).to(dtype);
        y.backward(dy.contiguous(format));
        var exactInput = x.to(ScalarType.Float64).requires_grad_();
        F.interpolate(exactInput, scaleFactor: 2).backward(dy.to(ScalarType.Float64));
        var reference = exactInput.grad!.to(dtype).to(ScalarType.Float64);
        var dx = stored.grad!;
        Assert.Equal(dtype, dx.dtype);
        var worst = (dx.to(ScalarType.Float64) - reference).abs().max().item<double>();
        Assert.True(worst <= (dtype == ScalarType.Float32 ? 1e-5 : 0.0), $"largest gradient error {worst}");
    }

    [Fact]
    public void Gradients_of_gradients_go_through_aten()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(6);
        var x = torch.randn([1, 2, 3, 3], g).contiguous(MemoryFormat.ChannelsLast).requires_grad_();
        var y = F.interpolate(x, scaleFactor: 2);
        var w = torch.randn(y.shape, g);
        var grad = torch.autograd.grad([(y * y * w).sum()], [x], createGraph: true)[0]; // 2·Σ_children y·w: depends on x
        var second = torch.autograd.grad([grad.sum()], [x])[0];
        var expected = 2 * F.avg_pool2d(w, 2) * 4; // d/dx of Σ_blocks 2·x·Σ w = 2·Σ w over each block
        Assert.True((second - expected).abs().max().item<float>() < 1e-5f);
    }
}
