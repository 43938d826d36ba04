using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary><see cref="torch.profiler"/>: per-operator calls, self and total time from libtorch's RecordFunction callbacks.</summary>
public class ProfilerTests
{
    private static OpStat Op(IReadOnlyList<OpStat> ops, string name) =>
        ops.SingleOrDefault(op => op.Name == name) ?? throw new Xunit.Sdk.XunitException($"{name} not profiled; saw {string.Join(", ", ops.Select(o => o.Name))}");

    [Fact]
    public void Each_operator_is_counted_once_per_call_and_a_callers_total_holds_its_callees()
    {
        using var g = new Generator(0);
        using var a = torch.randn([64, 64], g);
        using var b = torch.randn([64, 64], g);
        var ops = torch.profiler.measure(() =>
        {
            for (var i = 0; i < 3; i++)
            {
                using var sum = a + b;
                using var product = sum.matmul(b);
            }
        });
        Assert.Equal(3, Op(ops, "aten::add").Calls);
        var matmul = Op(ops, "aten::matmul");
        Assert.Equal(3, matmul.Calls);
        Assert.All(ops, op => Assert.True(op.Self <= op.Total && op.Self >= TimeSpan.Zero, $"{op.Name}: self {op.Self} total {op.Total}"));
        // aten::matmul of two matrices calls aten::mm: its total includes mm's, its self time excludes it.
        var mm = Op(ops, "aten::mm");
        Assert.True(matmul.Total >= matmul.Self + mm.Total - TimeSpan.FromTicks(ops.Count), $"matmul total {matmul.Total}, self {matmul.Self}, mm {mm.Total}");
        Assert.Equal(ops.OrderByDescending(op => op.Self).Select(op => op.Name), ops.Select(op => op.Name));
    }

    [Fact]
    public void Shim_kernels_and_autograd_nodes_are_named()
    {
        using var g = new Generator(0);
        using var x = torch.randn([2, 8, 4, 4], g).requires_grad_();
        var ops = torch.profiler.measure(() =>
        {
            using var y = torch.nn.functional.group_norm(x, 4, null, null, 1e-5, silu: true, ScalarType.Float32);
            using var loss = y.sum();
            loss.backward();
        });
        Assert.Equal(1, Op(ops, "dt::group_norm_silu").Calls);
        Assert.Contains(ops, op => op.Name.Contains("FusedGroupNorm") && op.Calls == 1); // the backward node
    }

    [Fact]
    public void A_failing_body_stops_the_profiler_and_only_the_measured_work_is_counted()
    {
        Assert.Throws<InvalidOperationException>(() => torch.profiler.measure(() => throw new InvalidOperationException("body failed")));
        using var a = torch.ones([4]);
        using (a * a) { } // outside any measure: not counted below
        var ops = torch.profiler.measure(() => { using var twice = a + a; });
        Assert.Equal(1, Op(ops, "aten::add").Calls);
        Assert.DoesNotContain(ops, op => op.Name == "aten::mul");
    }
}
