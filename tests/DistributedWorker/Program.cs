using System.Globalization;
using Diffusion.Torch;
using ReduceOp = Diffusion.Torch.torch.distributed.ReduceOp;

// argv: scenario. The rank, world size and rendezvous come from the torchrun variables the test sets.
// Output lines "key: v1 v2 …" (invariant culture); a DistributedException or ArgumentException is printed as
// "error: <message>" with exit code 3, so the test sees the message a user would.
var scenario = args.Length > 0 ? args[0] : "collectives";
var clock = System.Diagnostics.Stopwatch.StartNew();
var rendezvous = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("TEST_RENDEZVOUS_S") ?? "60", CultureInfo.InvariantCulture));
var collective = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("TEST_TIMEOUT_S") ?? "60", CultureInfo.InvariantCulture));
try
{
    using var group = torch.distributed.init_process_group(scenario == "nccl" ? "nccl" : "gloo", timeout: collective, rendezvous_timeout: rendezvous);
    var rank = group.rank;
    clock.Restart();   // failed_after_s counts from the end of the rendezvous
    switch (scenario)
    {
        case "collectives":
            Collectives(group);
            break;
        case "peer-gone":
            // Rank 1 leaves without a word; rank 0's next collective must fail, not hang or crash.
            if (rank == 1) Environment.Exit(0);
            Thread.Sleep(500);
            using (var t = torch.ones(4)) group.all_reduce(t);
            Console.WriteLine("all_reduce returned");
            break;
        case "hang":
            // Rank 1 stays alive but never joins the collective: rank 0 must fail after the collective timeout.
            if (rank == 1)
            {
                Thread.Sleep(TimeSpan.FromSeconds(12));
                return 0;
            }
            using (var t = torch.ones(4)) group.all_reduce(t);
            Console.WriteLine("all_reduce returned");
            break;
    }
    torch.distributed.destroy_process_group();
    return 0;
}
catch (Exception e) when (e is DistributedException or ArgumentException)
{
    Console.WriteLine($"error: {e.GetType().Name}: {e.Message}");
    Console.WriteLine($"failed_after_s: {clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)}");
    return 3;
}

static void Print(string key, Tensor t) =>
    Console.WriteLine($"{key}: {string.Join(" ", t.to(ScalarType.Float64).ToArray<double>().Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");

static void Collectives(ProcessGroup group)
{
    using var scope = torch.NewDisposeScope();
    var rank = group.rank;
    Console.WriteLine($"rank: {rank} {group.world_size}");
    // Sum of ranks: every rank contributes rank + 1.
    var sum = torch.full([3], rank + 1.0, ScalarType.Float32);
    group.all_reduce(sum);
    Print("sum", sum);
    // Every dtype: (0, 1, 2, 3)·(rank + 1) summed; max of rank; avg of (rank + 1)·2.
    foreach (var dtype in Enum.GetValues<ScalarType>())
    {
        try
        {
            var t = torch.arange(0, 4, 1, ScalarType.Int64).mul(rank + 1).to(dtype);
            if (dtype == ScalarType.Bool) t = torch.full([4], rank == 0, ScalarType.Bool);
            group.all_reduce(t);
            Print($"sum.{dtype.Name()}", t);
            var m = torch.full([2], rank, ScalarType.Int64).to(dtype);
            group.all_reduce(m, ReduceOp.MAX);
            Print($"max.{dtype.Name()}", m);
        }
        catch (ArgumentException e)
        {
            Console.WriteLine($"refused.{dtype.Name()}: {e.Message}");
        }
    }
    var avg = torch.full([2], (rank + 1) * 2.0, ScalarType.Float32);
    group.all_reduce(avg, ReduceOp.AVG);
    Print("avg", avg);
    // Broadcast of a seeded tensor from rank 0 and from the last rank.
    using (var g = new Generator(1234))
    {
        var b = rank == 0 ? torch.randn([5], g) : torch.zeros(5);
        group.broadcast(b, 0);
        Print("broadcast0", b);
    }
    var last = torch.full([3], (double)rank, ScalarType.Float64);
    group.broadcast(last, group.world_size - 1);
    Print("broadcast_last", last);
    // Barrier: the later a rank, the longer it sleeps; nobody may leave before the last one entered.
    Thread.Sleep(300 * rank);
    Console.WriteLine($"barrier_entered: {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
    group.barrier();
    Console.WriteLine($"barrier_left: {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
}
