using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Distributed;

/// <summary>
/// What the trainer does differently on one of several ranks: its <see cref="BatchShard"/>, parameters broadcast from
/// rank 0 at the start, gradients averaged after backward with bucketed flattened all-reduces, and step statistics
/// (loss, stop request) combined across ranks. With identical averaged gradients, clipping, the optimizer and the EMA
/// then do the same arithmetic on every rank, so the replicas stay equal without further communication.
/// </summary>
public sealed class DataParallel
{
    /// <summary>Bucket size of the gradient all-reduce (PyTorch DDP's default is 25 MB; a few MB keeps the copies cache-sized).</summary>
    public const long DefaultBucketBytes = 4L << 20;

    private readonly ProcessGroup group;
    private readonly long bucketBytes;

    public DataParallel(ProcessGroup group, long bucketBytes = DefaultBucketBytes)
    {
        this.group = group;
        this.bucketBytes = bucketBytes;
    }

    public int Rank => group.rank;
    public int WorldSize => group.world_size;
    public bool IsLead => Rank == 0;

    /// <summary>Seconds spent in the gradient all-reduce so far (the benchmark's communication time).</summary>
    public double AllReduceSeconds { get; private set; }

    public BatchShard Shard(long globalBatch) => BatchShard.Of(globalBatch, Rank, WorldSize);

    /// <summary>Copies rank 0's value of every parameter into this rank's.</summary>
    public void BroadcastParameters(Params parameters)
    {
        using var noGrad = torch.no_grad();
        foreach (var p in parameters.Named()) group.broadcast(p.Tensor, 0);
    }

    /// <summary>
    /// Buckets of parameters in reverse order (backward produces the last layers' gradients first, which is the order a
    /// hook-driven overlap would send them in), each up to <see cref="DefaultBucketBytes"/> (a larger tensor is a bucket alone).
    /// </summary>
    public IReadOnlyList<Tensor[]> Buckets(IReadOnlyList<Tensor> parameters) => Bucket(parameters, bucketBytes);

    /// <summary><see cref="Buckets"/> for a bucket size of <paramref name="bucketBytes"/>.</summary>
    public static IReadOnlyList<Tensor[]> Bucket(IReadOnlyList<Tensor> parameters, long bucketBytes)
    {
        var buckets = new List<Tensor[]>();
        var current = new List<Tensor>();
        long bytes = 0;
        foreach (var p in parameters.Reverse())
        {
            var size = p.numel() * p.dtype.ElementSize();
            if (current.Count > 0 && bytes + size > bucketBytes)
            {
                buckets.Add(current.ToArray());
                (current, bytes) = ([], 0);
            }
            current.Add(p);
            bytes += size;
        }
        if (current.Count > 0) buckets.Add(current.ToArray());
        return buckets;
    }

    /// <summary>
    /// Replaces every gradient by its mean over the ranks: per bucket, the gradients are flattened into one buffer, summed
    /// by one all-reduce, divided by the world size and copied back. A parameter without a gradient contributes zeros
    /// (and keeps none).
    /// </summary>
    public void AverageGradients(IReadOnlyList<Tensor[]> buckets)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var bucket in buckets)
        {
            var grads = bucket.Select(p => p.grad).ToArray();
            var flat = torch.cat(grads.Select((g, i) => (g ?? torch.zeros_like(bucket[i])).flatten()).ToArray());   // (Σ numel)
            group.all_reduce(flat, torch.distributed.ReduceOp.AVG);
            long offset = 0;
            for (var i = 0; i < bucket.Length; i++)
            {
                var n = bucket[i].numel();
                grads[i]?.copy_(flat.narrow(0, offset, n).view(bucket[i].shape));
                offset += n;
            }
        }
        AllReduceSeconds += clock.Elapsed.TotalSeconds;
    }

    /// <summary>The mean of <paramref name="loss"/> over the ranks, and whether any rank asked to stop.</summary>
    public (double MeanLoss, bool Stop) CombineStep(double loss, bool stopRequested)
    {
        using var stats = torch.tensor(new[] { loss, stopRequested ? 1.0 : 0.0 }, [2]);
        group.all_reduce(stats);
        var s = stats.ToArray<double>();
        return (s[0] / WorldSize, s[1] > 0);
    }

    /// <summary>Every rank's <paramref name="state"/> (all of one length), indexed by rank: one broadcast from each rank.</summary>
    public byte[][] AllGather(byte[] state)
    {
        var result = new byte[WorldSize][];
        for (var r = 0; r < WorldSize; r++)
        {
            using var t = r == Rank ? torch.tensor(state, [state.Length]) : torch.zeros([state.Length], ScalarType.UInt8);
            group.broadcast(t, r);
            result[r] = t.ToArray<byte>();
        }
        return result;
    }

    public void Barrier() => group.barrier();
}
