using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests;

/// <summary>The caching CPU allocator: large buffers are reused by size class, failures name their size, repeated steps map nothing.</summary>
public class CpuAllocatorTests
{
    private const long MiB = 1 << 20;

    private static CpuMemoryStats Stats()
    {
        Assert.True(torch.cpu.caching_allocator, "these tests need the caching allocator: run them without DIFFUSION_MALLOC=default");
        Tensor.SettledLiveNativeTensors(); // buffers of earlier tests' garbage go back to the cache first
        return torch.cpu.memory_stats();
    }

    [Fact]
    public void Caching_allocator_is_installed_on_linux_unless_opted_out()
    {
        var optedOut = Environment.GetEnvironmentVariable("DIFFUSION_MALLOC") == "default";
        Assert.Equal(OperatingSystem.IsLinux() && !optedOut, torch.cpu.caching_allocator);
    }

    [Fact]
    public void A_freed_large_buffer_is_reused_for_the_next_request_of_about_its_size()
    {
        Stats();
        torch.cpu.empty_cache();
        var before = torch.cpu.memory_stats();
        using (var t = torch.ones(MiB)) // 4 MiB of float32
        {
            var live = torch.cpu.memory_stats();
            Assert.Equal(before.Allocated + 4 * MiB, live.Allocated);
            Assert.Equal(before.Maps + 1, live.Maps);
        }
        var freed = torch.cpu.memory_stats();
        Assert.Equal(before.Allocated, freed.Allocated);
        Assert.Equal(before.Reserved + 4 * MiB, freed.Reserved); // kept, not unmapped

        using (var again = torch.ones(MiB - 10_000)) // 40 KB smaller: the same size class
        {
            var reused = torch.cpu.memory_stats();
            Assert.Equal(freed.Maps, reused.Maps);
            Assert.Equal(freed.Reuses + 1, reused.Reuses);
            Assert.Equal(MiB - 10_000, again.sum().item<double>()); // a reused buffer holds what was written into it
        }

        using (var half = torch.ones(MiB / 2)) // too small to take the 4 MiB block: mapped afresh
            Assert.Equal(freed.Maps + 1, torch.cpu.memory_stats().Maps);
    }

    [Fact]
    public void Small_buffers_stay_with_malloc()
    {
        var before = Stats();
        using var small = torch.ones(1000);
        var after = torch.cpu.memory_stats();
        Assert.Equal(before.Allocated, after.Allocated);
        Assert.Equal(before.Maps, after.Maps);
    }

    [Fact]
    public void Empty_cache_unmaps_cached_buffers_and_keeps_live_ones()
    {
        Stats();
        using var kept = torch.full([MiB], 3.0);
        torch.ones(2 * MiB).Dispose();
        var cached = torch.cpu.memory_stats();
        Assert.True(cached.Reserved > cached.Allocated);

        torch.cpu.empty_cache();

        var after = torch.cpu.memory_stats();
        Assert.Equal(after.Allocated, after.Reserved);
        Assert.Equal(3.0 * MiB, kept.sum().item<double>());
    }

    [Fact]
    public void A_request_beyond_the_address_space_is_an_out_of_memory_error_naming_its_size()
    {
        var before = Stats();
        var e = Assert.Throws<TorchOutOfMemoryException>(() => torch.zeros(1L << 48)); // 1 PiB of float32
        Assert.Contains("you tried to allocate 1125899906842624 bytes", e.Message);
        Assert.Equal(before.Allocated, torch.cpu.memory_stats().Allocated);
    }

    [Fact]
    public void Threads_allocating_and_freeing_at_once_each_keep_their_own_buffers()
    {
        var before = Stats();
        Parallel.For(0, 4, worker =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 200; i++)
            {
                var floats = random.Next(32 << 10, 1 << 20); // 128 KiB – 4 MiB: all from the cache
                using var t = torch.full([floats], worker + 1.0);
                Assert.Equal((worker + 1.0) * floats, t.sum().item<double>());
            }
        });
        Assert.Equal(before.Allocated, torch.cpu.memory_stats().Allocated);
    }

    [Fact]
    public void A_repeated_training_step_maps_nothing_new()
    {
        using var g = new Generator(3);
        using var weight = (torch.randn([16, 16, 3, 3], g) * 0.05).requires_grad_().DetachFromDisposeScope();
        using var x = torch.randn([8, 16, 32, 32], g).DetachFromDisposeScope(); // 512 KiB activations

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            var h = F.silu(F.group_norm(F.conv2d(x, weight, padding: 1), 4));
            F.mse_loss(F.conv2d(h, weight, padding: 1), x).backward();
            using var noGrad = torch.no_grad();
            weight.add_(weight.grad!, -0.01);
            weight.zero_grad();
        }

        for (var i = 0; i < 3; i++) Step();
        var warm = Stats();
        for (var i = 0; i < 50; i++) Step();
        var after = Stats();

        Assert.Equal(warm.Maps, after.Maps);
        Assert.Equal(warm.Reserved, after.Reserved);
        Assert.True(after.Reuses > warm.Reuses + 50, $"{after.Reuses - warm.Reuses} reuses over 50 steps");
    }
}
