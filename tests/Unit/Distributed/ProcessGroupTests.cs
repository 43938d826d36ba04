using System.Diagnostics;
using Xunit;

namespace Diffusion.Torch.Tests.Distributed;

/// <summary>
/// torch.distributed across two real processes on loopback (tests/DistributedWorker as ranks 0 and 1): collectives
/// against closed forms, and failures — a rendezvous nobody joins, a peer that exits, a peer that never answers —
/// as DistributedExceptions with their reason, within the timeouts, never a crash or a hang.
/// </summary>
public class ProcessGroupTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private static void AllSucceeded(RankProcesses.Rank[] ranks)
    {
        foreach (var r in ranks) Assert.True(r.ExitCode == 0, $"rank {r.Index} exited {r.ExitCode}\nstdout:\n{r.Stdout}\nstderr:\n{r.Stderr}");
    }

    [Fact]
    public void Collectives_across_two_processes_match_their_closed_forms()
    {
        const int world = 2;
        var ranks = RankProcesses.Run("collectives", world, Limit);
        AllSucceeded(ranks);
        using var g = new Generator(1234);
        using var seeded = torch.randn([5], g);
        var expectedBroadcast = seeded.ToArray<float>().Select(v => (double)v).ToArray();
        const double rankSum = world * (world + 1) / 2.0;                                 // Σ (rank + 1)
        foreach (var r in ranks)
        {
            Assert.Equal([r.Index, world], r.Values("rank"));
            Assert.Equal([rankSum, rankSum, rankSum], r.Values("sum"));
            Assert.Equal([2.0 * rankSum / world, 2.0 * rankSum / world], r.Values("avg"));
            foreach (var dtype in Enum.GetValues<ScalarType>())
            {
                var name = dtype.Name();
                if (!ProcessGroup.SupportedDtypes.Contains(dtype))
                {
                    Assert.Contains($"gloo does not reduce {name} tensors", r.Line($"refused.{name}"));
                    continue;
                }
                Assert.Equal(new[] { 0.0, 1, 2, 3 }.Select(v => v * rankSum), r.Values($"sum.{name}"));
                Assert.Equal([world - 1.0, world - 1], r.Values($"max.{name}"));
            }
            Assert.Equal(expectedBroadcast, r.Values("broadcast0"));
            Assert.Equal([world - 1.0, world - 1, world - 1], r.Values("broadcast_last"));
        }
        var lastEntered = ranks.Max(r => r.Values("barrier_entered")[0]);
        Assert.All(ranks, r => Assert.True(r.Values("barrier_left")[0] >= lastEntered, $"rank {r.Index} left the barrier before the last rank entered it"));
    }

    [Fact]
    public void A_rendezvous_nobody_joins_fails_within_its_timeout_naming_the_address()
    {
        var clock = Stopwatch.StartNew();
        var ranks = RankProcesses.Run("collectives", worldSize: 2, Limit, new Dictionary<string, string> { ["TEST_RENDEZVOUS_S"] = "3" }, ranks: [0]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"took {clock.Elapsed}");
        var r = Assert.Single(ranks);
        Assert.Equal(3, r.ExitCode);
        var error = r.Line("error");
        Assert.Contains("DistributedException", error);
        Assert.Contains("rendezvous at 127.0.0.1:", error);
        Assert.Contains("rank 0 of 2", error);
    }

    [Fact]
    public void A_peer_that_exits_makes_the_next_collective_fail_with_a_DistributedException()
    {
        var clock = Stopwatch.StartNew();
        var ranks = RankProcesses.Run("peer-gone", 2, Limit, new Dictionary<string, string> { ["TEST_TIMEOUT_S"] = "20" });
        Assert.Equal(0, ranks[1].ExitCode);
        Assert.Equal(3, ranks[0].ExitCode);
        Assert.Contains("DistributedException", ranks[0].Line("error"));
        Assert.Contains("all_reduce", ranks[0].Line("error"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_peer_that_never_answers_fails_the_collective_after_the_timeout()
    {
        var clock = Stopwatch.StartNew();
        var ranks = RankProcesses.Run("hang", 2, Limit, new Dictionary<string, string> { ["TEST_TIMEOUT_S"] = "3" });
        Assert.Equal(3, ranks[0].ExitCode);
        Assert.Contains("DistributedException", ranks[0].Line("error"));
        Assert.Contains("3 s", ranks[0].Line("error"));
        // The 3 s collective timeout, counted from the end of the rendezvous (rank 1 sleeps 12 s without joining the all_reduce).
        Assert.InRange(ranks[0].Values("failed_after_s")[0], 2.9, 9);
    }

    [Fact]
    public void Nccl_is_refused_with_the_reason_on_a_libtorch_without_cuda()
    {
        Assert.False(torch.cuda.is_available(), "this test expects the CPU libtorch of CI");
        var e = Assert.Throws<ArgumentException>(() => torch.distributed.init_process_group("nccl", 0, 1, "127.0.0.1", 29500));
        Assert.Contains("nccl", e.Message);
        Assert.Contains("gloo", e.Message);
        Assert.Throws<ArgumentException>(() => torch.distributed.init_process_group("mpi", 0, 1, "127.0.0.1", 29500));
    }

    [Fact]
    public void The_torchrun_variables_are_read_and_malformed_ones_reported_together()
    {
        var env = new Dictionary<string, string> { ["WORLD_SIZE"] = "4", ["RANK"] = "2", ["MASTER_ADDR"] = "node0", ["MASTER_PORT"] = "29501" };
        Assert.Equal(new DistributedEnvironment(2, 4, 2, "node0", 29501), DistributedEnvironment.From(k => env.GetValueOrDefault(k)));
        Assert.Null(DistributedEnvironment.From(_ => null));
        var bad = new Dictionary<string, string> { ["WORLD_SIZE"] = "2", ["RANK"] = "5", ["MASTER_PORT"] = "x" };
        var e = Assert.Throws<ArgumentException>(() => DistributedEnvironment.From(k => bad.GetValueOrDefault(k)));
        Assert.Contains("RANK=5", e.Message);
        Assert.Contains("MASTER_PORT=x", e.Message);
        Assert.Contains("MASTER_ADDR is not set", e.Message);
    }
}
