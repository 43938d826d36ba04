using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Failures surface as exceptions naming the op, the shapes and libtorch's complaint; none crash the process.</summary>
public class ErrorTests
{
    [Fact]
    public void Group_norm_with_groups_not_dividing_channels()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => F.group_norm(torch.ones(1, 6, 4, 4), 4));
        Assert.Contains("group_norm(groups=4)", ex.Message);
        Assert.Contains("[1, 6, 4, 4] float32", ex.Message);
        Assert.Contains("divisible by num_groups", ex.Message);
        Assert.StartsWith("group_norm", ex.Operation);
        Assert.Contains("divisible", ex.NativeMessage);
    }

    [Fact]
    public void Matmul_with_mismatched_inner_dims()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.ones(2, 3).matmul(torch.ones(4, 5)));
        Assert.Contains("matmul", ex.Message);
        Assert.Contains("[2, 3] float32, [4, 5] float32", ex.Message);
        Assert.Contains("cannot be multiplied", ex.NativeMessage);
    }

    [Fact]
    public void Conv2d_with_a_3d_weight_or_wrong_input_rank()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => F.conv2d(torch.ones(1, 2, 5, 5, 5), torch.ones(3, 2, 3, 3)));
        Assert.Contains("conv2d", ex.Message);
        Assert.Contains("[1, 2, 5, 5, 5]", ex.Message);
        Assert.Contains("dim", ex.NativeMessage);
        var channels = Assert.Throws<TorchException>(() => F.conv2d(torch.ones(1, 3, 5, 5), torch.ones(4, 2, 3, 3)));
        Assert.Contains("channels", channels.NativeMessage);
    }

    [Fact]
    public void Reshape_to_an_incompatible_number_of_elements()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.ones(2, 3).reshape(4, 2));
        Assert.Contains("reshape([2, 3] float32)", ex.Message);
        Assert.Contains("invalid for input of size 6", ex.NativeMessage);
    }

    [Fact]
    public void Index_out_of_range()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(3, 2);
        var ex = Assert.Throws<TorchException>(() => x[3]);
        Assert.Contains("select", ex.Message);
        Assert.Contains("out of range", ex.NativeMessage);
        Assert.Throws<TorchException>(() => x.index_select(0, torch.tensor(0L, 5L)));
        Assert.Throws<TorchException>(() => F.embedding(torch.tensor(7L), torch.ones(3, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.size(2));
    }

    [Fact]
    public void Cat_of_mismatched_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.cat([torch.ones(2, 3), torch.ones(2, 4)], 0));
        Assert.Contains("cat([2, 3] float32, [2, 4] float32)", ex.Message);
        Assert.Contains("Sizes of tensors must match", ex.NativeMessage);
        Assert.Throws<ArgumentException>(() => torch.cat([]));
        Assert.Throws<TorchException>(() => torch.stack([torch.ones(2), torch.ones(3)]));
    }

    [CpuOnlyLibtorchFact]
    public void Cuda_device_on_a_cpu_only_libtorch_is_a_clear_error()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.zeros(new long[] { 2 }, device: Device.CUDA()));
        Assert.Contains("cuda:0", ex.Message);
        Assert.Contains("without CUDA support", ex.Message);
        Assert.Throws<TorchException>(() => torch.ones(2).to(Device.CUDA()));
        using var g = new Generator(1);
        Assert.Throws<TorchException>(() => torch.randn([2], g, device: Device.CUDA()));
    }

    [Fact]
    public void ToArray_with_the_wrong_element_type()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<InvalidOperationException>(() => torch.ones(2).ToArray<double>());
        Assert.Contains("float32", ex.Message);
        Assert.Contains("float64", ex.Message);
        Assert.Throws<InvalidOperationException>(() => torch.arange(2).data<float>().Length);
        Assert.Throws<InvalidOperationException>(() => torch.ones(2).CopyTo<long>(new long[2]));
    }

    [Fact]
    public void Errors_leave_the_binding_usable_and_leak_no_tensors()
    {
        var before = Tensor.SettledLiveNativeTensors();
        using (var scope = torch.NewDisposeScope())
        {
            for (var k = 0; k < 100; k++)
                Assert.Throws<TorchException>(() => torch.ones(2, 3).matmul(torch.ones(4, 5)));
            Assert.Equal(5f, (torch.ones(1) * 5).item<float>());
        }
        Assert.Equal(before, Tensor.LiveNativeTensors);
    }

    [Fact]
    public void Shape_checks_in_attention_name_the_disagreeing_dims()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => F.scaled_dot_product_attention(torch.ones(2, 4), torch.ones(3, 5), torch.ones(3, 2)));
        Assert.Contains("last dim: 4 vs 5", ex.NativeMessage);
    }

    [Fact]
    public void Layer_norm_with_a_shape_that_does_not_match_the_trailing_dims()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => F.layer_norm(torch.ones(2, 3), [4]));
        Assert.Contains("layer_norm([4])", ex.Message);
    }
}

/// <summary>A fact about the errors of a libtorch built without CUDA (Debian's); skipped where CUDA is there.</summary>
public sealed class CpuOnlyLibtorchFactAttribute : FactAttribute
{
    public CpuOnlyLibtorchFactAttribute()
    {
        if (torch.cuda.is_available()) Skip = "this libtorch has CUDA: the test checks the error a CPU-only libtorch gives for a CUDA device";
    }
}
