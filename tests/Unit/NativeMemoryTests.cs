using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests;

/// <summary>Long loops must hold flat native memory when every step runs in a dispose scope.</summary>
public class NativeMemoryTests
{
    /// <summary>Resident memory not held by the managed heap: libtorch's allocations and the runtime's own.</summary>
    private static long NativeResidentBytes()
    {
        Tensor.SettledLiveNativeTensors(); // collects and finalizes first
        return ResidentBytes() - GC.GetGCMemoryInfo().TotalCommittedBytes;
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("VmRSS missing from /proc/self/status");
    }

    /// <summary>A 2 → 64 → 64 → 2 SiLU MLP trained by gradient descent on a fixed regression target.</summary>
    private sealed class Mlp : IDisposable
    {
        public readonly Tensor[] Parameters;

        public Mlp(Generator g)
        {
            Tensor Init(params long[] shape) => (torch.randn(shape, g) * 0.1).requires_grad_().DetachFromDisposeScope();
            Parameters = [Init(64, 2), Init(64), Init(64, 64), Init(64), Init(2, 64), Init(2)];
        }

        public Tensor Forward(Tensor x)
        {
            var h = F.silu(F.linear(x, Parameters[0], Parameters[1]));
            h = F.silu(F.linear(h, Parameters[2], Parameters[3]));
            return F.linear(h, Parameters[4], Parameters[5]);
        }

        public void Step(double lr)
        {
            using var noGrad = torch.no_grad();
            foreach (var p in Parameters)
            {
                p.add_(p.grad!, -lr);
                p.zero_grad();
            }
        }

        public void Dispose()
        {
            foreach (var p in Parameters) p.Dispose();
        }
    }

    [Fact]
    public void Twenty_thousand_training_steps_keep_native_memory_flat()
    {
        using var g = new Generator(7);
        using var model = new Mlp(g);
        using var x = torch.randn([128, 2], g).DetachFromDisposeScope();
        using var y = x.flip(1).DetachFromDisposeScope();

        void Train(int steps)
        {
            for (var s = 0; s < steps; s++)
            {
                using var scope = torch.NewDisposeScope();
                var loss = F.mse_loss(model.Forward(x), y);
                loss.backward();
                model.Step(0.05);
            }
        }

        Train(2_000); // warm-up: allocator caches and JIT settle
        var rssAfterWarmup = NativeResidentBytes(); // collects first, so garbage of earlier tests is finalized
        var tensorsAfterWarmup = Tensor.LiveNativeTensors;

        Train(18_000);
        var growth = NativeResidentBytes() - rssAfterWarmup;

        Assert.Equal(tensorsAfterWarmup, Tensor.LiveNativeTensors);
        // A leak of one 128×64 float activation per step would add ~590 MB; allow 5% of the warm RSS for noise.
        Assert.True(growth < rssAfterWarmup * 0.05, $"RSS grew by {growth / 1e6:F1} MB over 18,000 steps (from {rssAfterWarmup / 1e6:F1} MB)");
    }
}
