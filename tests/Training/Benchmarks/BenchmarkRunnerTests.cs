using Diffusion.Torch;
using Diffusion.Training.Benchmarks;
using Xunit;

namespace Diffusion.Training.Tests.Benchmarks;

public class BenchmarkRunnerTests
{
    [Theory]
    [InlineData("mlp2d_train_b1024", 37_762L)]
    [InlineData("unet28_train_b64", 1_112_801L)]
    [InlineData("dit28_train_b64", 4_174_864L)]
    [InlineData("unet3d32_train_b2", 715_185L)]
    [InlineData("ddpm_cifar10_fwd_b8", 35_746_307L)]
    [InlineData("mlp2d_sample_em_n10000", 37_762L)]
    public void Every_case_runs_its_contract_model_on_the_threads_asked_for(string name, long parameters)
    {
        var result = BenchmarkRunner.Run(BenchmarkCase.Get(name), threads: 1, warmup: 0, steps: 1);
        Assert.Equal(name, result.Case);
        Assert.Equal(parameters, result.Params);
        Assert.Equal(1, result.Threads);
        Assert.True(result.SecondsPerStep > 0, $"{result.SecondsPerStep} s/step");
        Assert.True(result.PeakRssMib > 0);
        Assert.Null(result.PeakRssMibAtStep100);
    }

    [Theory]
    [InlineData("unet28_train_b64")]
    [InlineData("dit28_train_b64")]
    [InlineData("unet3d32_train_b2")]
    [InlineData("ddpm_cifar10_fwd_b8")]
    public void Every_image_case_has_a_bf16_variant(string name)
    {
        var result = BenchmarkRunner.Run(BenchmarkCase.Get(name), threads: 1, warmup: 0, steps: 1, precision: Primitives.Precision.BF16);
        Assert.Equal("bf16", result.Precision);
        Assert.True(result.SecondsPerStep > 0, $"{result.SecondsPerStep} s/step");
    }

    [Fact]
    public void Contract_batches_and_kinds_are_the_published_ones()
    {
        Assert.Equal(["mlp2d_train_b1024", "unet28_train_b64", "dit28_train_b64", "unet3d32_train_b2", "ddpm_cifar10_fwd_b8", "mlp2d_sample_em_n10000"],
            BenchmarkCase.All.Select(c => c.Name));
        Assert.Equal([64L, 1, 28, 28], BenchmarkCase.Get("unet28_train_b64").Batch);
        Assert.Equal([2L, 1, 32, 32, 32], BenchmarkCase.Get("unet3d32_train_b2").Batch);
        Assert.Equal([8L, 3, 32, 32], BenchmarkCase.Get("ddpm_cifar10_fwd_b8").Batch);
        Assert.Equal(BenchmarkKind.Forward, BenchmarkCase.Get("ddpm_cifar10_fwd_b8").Kind);
        Assert.Equal(1000, BenchmarkCase.Get("mlp2d_sample_em_n10000").Steps);
    }

    [Fact]
    public void A_run_past_step_100_records_the_peak_there_and_frees_every_tensor_it_made()
    {
        var live = Tensor.SettledLiveNativeTensors();
        var result = BenchmarkRunner.Run(BenchmarkCase.Get("mlp2d_train_b1024"), threads: 1, warmup: 30, steps: 120);
        Assert.NotNull(result.PeakRssMibAtStep100);
        Assert.InRange(result.PeakRssMibAtStep100!.Value, 1, result.PeakRssMib);
        Assert.Equal(live, Tensor.SettledLiveNativeTensors());
    }

    [Fact]
    public void Without_a_thread_count_the_thread_policy_chooses_from_the_work_per_step()
    {
        var result = BenchmarkRunner.Run(BenchmarkCase.Get("unet3d32_train_b2"), warmup: 0, steps: 1);
        Assert.True(result.MacsPerStep > 1e9, $"{result.MacsPerStep} MACs");
        Assert.Equal(ThreadPolicy.Choose(result.MacsPerStep, Environment.ProcessorCount), result.Threads);
    }

    [Theory]
    [InlineData(0, 1, 1, "threads")]
    [InlineData(1, -1, 1, "warmup")]
    [InlineData(1, 0, 0, "steps")]
    public void Bad_counts_are_rejected_naming_the_argument(int threads, int warmup, int steps, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => BenchmarkRunner.Run(BenchmarkCase.Get("mlp2d_train_b1024"), threads, warmup, steps));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Unknown_cases_list_the_known_ones()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => BenchmarkCase.Get("resnet50"));
        Assert.Contains("unet28_train_b64", e.Message);
    }
}
