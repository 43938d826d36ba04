using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>
/// Spatial size of a block's input: 2 dims (H, W) or 3 (D, H, W). The rank picks 2-D or 3-D kernels,
/// so one implementation serves both. Treat <see cref="Dims"/> as read-only.
/// </summary>
public sealed record Spatial(params int[] Dims)
{
    public int Rank => Dims.Length;

    public static Spatial Cube(int size, int rank) => new(Enumerable.Repeat(size, rank).ToArray());

    public Spatial Map(Func<int, int> f) => new(Dims.Select(f).ToArray());

    public long Positions => Dims.Aggregate(1L, (a, b) => a * b);

    public long[] WithChannels(long c) => [c, .. Dims.Select(d => (long)d)];

    public IEnumerable<string> Check(string path) =>
    [
        .. Rules.Require(Rank is 2 or 3, path, $"spatial rank={Rank} must be 2 (H, W) or 3 (D, H, W)"),
        .. Rules.Require(Dims.All(d => d > 0), path, $"spatial size {this} must be positive"),
    ];

    public bool Equals(Spatial? other) => other is not null && Dims.SequenceEqual(other.Dims);

    public override int GetHashCode() => Dims.Aggregate(17, (h, d) => h * 31 + d);

    public override string ToString() => string.Join("×", Dims);
}

/// <summary>
/// A validated block: its path (for errors), the per-sample input and output shapes (C, *spatial), and its module —
/// the one declaration of its children from which parameters, counts and the summary rows derive, without running a
/// kernel or allocating a weight. Its module's name is the last segment of its path (<c>resnets.0</c>).
/// </summary>
public interface IBlockPlan : IDeclared
{
    string Path { get; }

    long[] InputShape { get; }

    long[] OutputShape { get; }
}

/// <summary>Run-time input checks: the wrong rank or size fails naming the block path, expected and actual shapes.</summary>
public static class Guard
{
    public static void Input(string path, long[] perSample, Tensor x, string what = "input")
    {
        var actual = x.shape;
        var ok = actual.Length == perSample.Length + 1 && actual.Skip(1).SequenceEqual(perSample);
        if (!ok) throw new ShapeException(path, $"{what} [N, {string.Join(", ", perSample)}]", actual);
    }

    /// <summary>A conditioning vector (N, dim) whose batch matches the input's.</summary>
    public static void Vector(string path, long dim, long batch, Tensor? v, string what)
    {
        if (v is null) throw new ArgumentNullException(what, $"{path}: {what} is required by this block (dim {dim})");
        var s = v.shape;
        if (s.Length != 2 || s[0] != batch || s[1] != dim) throw new ShapeException(path, $"{what} [{batch}, {dim}]", s);
    }
}
