using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>Class labels checked once at a model's edge, the same way for every class-conditional architecture.</summary>
internal static class ClassLabels
{
    /// <summary>
    /// Labels (N) int64 in [0, <paramref name="rows"/>); none given → the null class for every sample (unconditional), or an
    /// error when the model has no null class (<paramref name="nullClass"/> null).
    /// </summary>
    public static Tensor Check(string path, Tensor? labels, long n, int rows, int? nullClass)
    {
        if (labels is null)
            return nullClass is { } k ? torch.full([n], k, ScalarType.Int64)
                : throw new ArgumentException($"{path}: labels [N] are required (this model has no null class)", nameof(labels));
        if (labels.shape is not [var ln] || ln != n) throw new ShapeException(path, $"labels [{n}]", labels.shape);
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"{path}: labels must be int64, got {labels.dtype}", nameof(labels));
        if (n == 0) return labels;
        long lo = labels.min().item<long>(), hi = labels.max().item<long>();
        return lo >= 0 && hi < rows ? labels
            : throw new ArgumentOutOfRangeException(nameof(labels),
                $"{path}: labels must lie in [0, {rows - 1}]{(nullClass is { } z ? $" ({z} is the null class)" : "")}, got [{lo}, {hi}]");
    }
}
