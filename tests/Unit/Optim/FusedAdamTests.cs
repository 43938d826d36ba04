using Diffusion.Torch.Optim;
using Xunit;

namespace Diffusion.Torch.Tests.Optim;

/// <summary>
/// <see cref="AdamOptions.fused"/> against the default op-by-op path on the same parameters and gradients, over tensors
/// large enough to be split across threads and small ones, for every option that changes the update.
/// </summary>
public class FusedAdamTests
{
    public static TheoryData<string, bool, double, bool, bool> Variants() => new()
    {
        { "Adam", false, 0.0, false, false }, { "Adam", false, 0.1, false, false }, { "Adam", false, 0.0, true, false },
        { "Adam", false, 0.0, false, true }, { "AdamW", true, 0.05, false, false }, { "AdamW", true, 0.05, true, true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Fused_and_op_by_op_steps_agree_to_rounding(string name, bool decoupled, double weightDecay, bool amsgrad, bool maximize)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        long[][] shapes = [[300, 257], [17], [3, 4, 5]]; // 77,100 elements: more than one parallel chunk
        var start = shapes.Select(s => torch.randn(s, g)).ToArray();
        var grads = Enumerable.Range(0, 20).Select(_ => shapes.Select(s => torch.randn(s, g)).ToArray()).ToArray();
        Tensor[] Run(bool fused)
        {
            var ps = start.Select(t => t.clone().requires_grad_()).ToArray();
            var options = new AdamOptions { lr = 1e-2, weight_decay = weightDecay, amsgrad = amsgrad, maximize = maximize, fused = fused };
            using IOptimizer opt = decoupled ? new AdamW(ps, options) : new Adam(ps, options);
            foreach (var step in grads)
            {
                for (var i = 0; i < ps.Length; i++) ps[i].grad = step[i];
                opt.step();
            }
            return ps.Select(p => p.detach()).ToArray();
        }
        var fusedParams = Run(fused: true);
        var reference = Run(fused: false);
        for (var i = 0; i < shapes.Length; i++)
        {
            var moved = (reference[i] - start[i]).abs().max().item<float>();
            var gap = (fusedParams[i] - reference[i]).abs().max().item<float>();
            Assert.True(moved > 1e-2f, $"{name}: parameter {i} did not move ({moved})");
            Assert.True(gap <= 1e-6f * Math.Max(1f, reference[i].abs().max().item<float>()), $"{name}, parameter {i}: fused differs by {gap} after 20 steps");
        }
    }

    [Fact]
    public void A_fused_step_runs_no_aten_op_per_tensor()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(13);
        var ps = new[] { torch.randn([64, 64], g).requires_grad_(), torch.randn([64], g).requires_grad_() };
        foreach (var p in ps) p.grad = torch.ones_like(p);
        int AtenOps(bool fused)
        {
            using var opt = new Adam(ps, new AdamOptions { fused = fused });
            opt.step(); // the first step creates the state (zeros_like): measure the second
            return torch.profiler.measure(opt.step).Where(op => op.Name.StartsWith("aten::")).Sum(op => (int)op.Calls);
        }
        Assert.True(AtenOps(fused: false) >= 2 * 8, "the op-by-op path runs about ten ATen ops per tensor");
        Assert.Equal(0, AtenOps(fused: true));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_fused_step_bumps_the_version_counters_as_the_op_chain_does(bool amsgrad)
    {
        // The fused kernel writes through raw pointers, which ATen's version counters do not see by themselves: without
        // the bump, autograd would not notice a parameter changed after being saved for backward.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(14);
        var start = torch.randn([32, 16], g);
        (long Moved, Tensor Saved) Step(bool fused)
        {
            var p = start.clone().requires_grad_();
            p.grad = torch.ones_like(p);
            var saved = p * p; // saves p for its backward
            var before = p._version;
            using var opt = new Adam([p], new AdamOptions { lr = 1e-2, amsgrad = amsgrad, fused = fused });
            opt.step();
            return (p._version - before, saved);
        }

        var (fusedMoved, fusedSaved) = Step(fused: true);
        var (chainMoved, _) = Step(fused: false);
        Assert.True(chainMoved > 0, "the op chain's in-place ops bump the parameter's version");
        Assert.True(fusedMoved > 0, "the fused step bumps the parameter's version");
        var error = Assert.ThrowsAny<Exception>(() => fusedSaved.sum().backward());
        Assert.Contains("modified by an inplace operation", error.Message);
    }

    [Fact]
    public void Float64_parameters_and_non_contiguous_gradients_take_the_op_by_op_path()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(12);
        var p = torch.randn([8, 6], g);
        var doubles = torch.randn([5], g).to(ScalarType.Float64);
        var transposedGrad = torch.randn([6, 8], g).transpose(0, 1); // (8, 6), not contiguous
        Assert.False(transposedGrad.is_contiguous());
        Tensor[] Run(bool fused)
        {
            var ps = new[] { p.clone().requires_grad_(), doubles.clone().requires_grad_() };
            using var opt = new Adam(ps, new AdamOptions { lr = 1e-2, fused = fused });
            for (var k = 0; k < 3; k++)
            {
                ps[0].grad = transposedGrad;
                ps[1].grad = torch.ones([5]).to(ScalarType.Float64);
                opt.step();
            }
            return ps;
        }
        var fusedRun = Run(fused: true);
        var reference = Run(fused: false);
        Assert.Equal(0.0, (fusedRun[0] - reference[0]).abs().max().item<float>()); // same path, so bit for bit
        Assert.Equal(0.0, (fusedRun[1] - reference[1]).abs().max().item<double>());
        Assert.NotEqual(0.0, (reference[0] - p).abs().max().item<float>());
    }
}
