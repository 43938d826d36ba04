using Diffusion.Torch;

namespace Diffusion.Training.Distributed;

/// <summary>
/// The examples [<see cref="Offset"/>, Offset + <see cref="Count"/>) of a global batch of <see cref="Total"/> that one
/// rank trains on. Every random draw of the batch — data indices, t, noise, label dropout — is made for the whole
/// global batch from generators every rank holds in the same state, and each rank keeps its slice: an example's draws
/// then depend on its index in the global batch only, not on the world size, so N ranks compute what one process would
/// (up to the order of floating-point sums). Drawing the whole batch costs each rank Total instead of Count random
/// numbers — small beside the network's forward and backward.
/// </summary>
public sealed record BatchShard(long Offset, long Count, long Total)
{
    /// <summary>The whole batch (one process).</summary>
    public static BatchShard Whole(long total) => new(0, total, total);

    /// <summary>Rank <paramref name="rank"/>'s equal slice of <paramref name="total"/> over <paramref name="worldSize"/> ranks.</summary>
    public static BatchShard Of(long total, int rank, int worldSize)
    {
        if (total % worldSize != 0) throw new ArgumentException($"batch {total} does not divide evenly among {worldSize} ranks: choose a batch that is a multiple of {worldSize}");
        var count = total / worldSize;
        return new BatchShard(rank * count, count, total);
    }

    public bool IsWhole => Count == Total;

    /// <summary>This rank's rows of a tensor drawn for the whole batch (dim 0 of length <see cref="Total"/>).</summary>
    public Tensor Slice(Tensor global) => IsWhole ? global : global.narrow(0, Offset, Count);

    /// <summary>
    /// Unit Gaussian noise shaped like this rank's rows <paramref name="x"/> (Count, …), drawn for the whole batch
    /// (Total, …) from <paramref name="g"/> and sliced, so an example's noise does not depend on the world size.
    /// </summary>
    public Tensor RandnLike(Tensor x, Generator g) => Slice(torch.randn([Total, .. x.shape[1..]], g, x.dtype, x.device));
}
