using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary>Engine facts and thread settings (what `diffusion info` prints).</summary>
public class RuntimeTests
{
    [Fact]
    public void Version_is_the_libtorch_the_shim_was_built_against()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", torch.version);
        Assert.Contains("PyTorch built with", torch.show_config());
    }

    [Fact]
    public void Cpu_capability_is_read_from_the_build_configuration()
    {
        Assert.Matches("^(DEFAULT|AVX|AVX2|AVX512|NEON|VSX|ZVECTOR)$", torch.cpu_capability());
    }

    [Fact]
    public void Thread_count_can_be_set_and_read_back()
    {
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(2);
            Assert.Equal(2, torch.get_num_threads());
            torch.set_num_threads(1);
            Assert.Equal(1, torch.get_num_threads());
            Assert.Throws<TorchException>(() => torch.set_num_threads(0));
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void The_shims_own_kernels_run_on_every_intra_op_thread()
    {
        // A shim built without OpenMP compiles ATen's parallel_for to a serial loop: its SiLU, GELU and GroupNorm
        // kernels then left the other threads idle (a fifth of a bf16 U-Net step).
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(2);
            Assert.Equal(2, torch.kernel_threads());
            torch.set_num_threads(1);
            Assert.Equal(1, torch.kernel_threads());
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Theory]
    [InlineData(4e4, 2, 1)]   // mlp-seed at batch 1: overhead-bound, one thread
    [InlineData(1e8, 2, 1)]   // a 2-D MLP step at batch 1024
    [InlineData(5e9, 2, 2)]   // a 3-D U-Net step: every core
    [InlineData(5e9, 1, 1)]
    public void Thread_policy_uses_every_core_only_for_large_steps(double macs, int cores, int expected) =>
        Assert.Equal(expected, ThreadPolicy.Choose(macs, cores));

    [Fact]
    public void Thread_policy_apply_sets_libtorch_threads()
    {
        var before = torch.get_num_threads();
        try
        {
            Assert.Equal(1, ThreadPolicy.Apply(1e3));
            Assert.Equal(1, torch.get_num_threads());
            Assert.Equal(Environment.ProcessorCount, ThreadPolicy.Apply(1e12));
            Assert.Equal(Environment.ProcessorCount, torch.get_num_threads());
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void Cuda_is_reported_consistently()
    {
        var available = torch.cuda.is_available();
        Assert.Equal(available, torch.cuda.device_count() > 0);
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        Assert.Equal("cuda:1", Device.CUDA(1).ToString());
        Assert.Throws<FormatException>(() => Device.Parse("tpu"));
    }
}
