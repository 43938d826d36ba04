using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Reductions. With no dims they reduce every element, as in PyTorch.
public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReduceOp op, string name, long[]? dims, bool keepdim)
    {
        fixed (long* p = dims)
            return Wrap(dt_reduce(op, Handle, dims is null ? null : p, dims?.Length ?? 0, keepdim ? 1 : 0, out var r), r, name, this);
    }

    public Tensor sum() => Reduce(ReduceOp.Sum, "sum", null, false);
    public Tensor sum(long dim, bool keepdim = false) => Reduce(ReduceOp.Sum, "sum", [dim], keepdim);
    public Tensor sum(long[] dims, bool keepdim = false) => Reduce(ReduceOp.Sum, "sum", dims, keepdim);
    public Tensor mean() => Reduce(ReduceOp.Mean, "mean", null, false);
    public Tensor mean(long dim, bool keepdim = false) => Reduce(ReduceOp.Mean, "mean", [dim], keepdim);
    public Tensor mean(long[] dims, bool keepdim = false) => Reduce(ReduceOp.Mean, "mean", dims, keepdim);
    public Tensor prod() => Reduce(ReduceOp.Prod, "prod", null, false);
    public Tensor prod(long dim, bool keepdim = false) => Reduce(ReduceOp.Prod, "prod", [dim], keepdim);
    public Tensor amax(params long[] dims) => Reduce(ReduceOp.Amax, "amax", dims.Length == 0 ? null : dims, false);
    public Tensor amax(long[] dims, bool keepdim) => Reduce(ReduceOp.Amax, "amax", dims, keepdim);
    public Tensor amin(params long[] dims) => Reduce(ReduceOp.Amin, "amin", dims.Length == 0 ? null : dims, false);
    public Tensor amin(long[] dims, bool keepdim) => Reduce(ReduceOp.Amin, "amin", dims, keepdim);
    public Tensor logsumexp(long dim, bool keepdim = false) => Reduce(ReduceOp.LogSumExp, "logsumexp", [dim], keepdim);
    public Tensor any() => Reduce(ReduceOp.Any, "any", null, false);
    public Tensor any(long dim, bool keepdim = false) => Reduce(ReduceOp.Any, "any", [dim], keepdim);
    public Tensor all() => Reduce(ReduceOp.All, "all", null, false);
    public Tensor all(long dim, bool keepdim = false) => Reduce(ReduceOp.All, "all", [dim], keepdim);

    /// <summary>Euclidean norm over all elements or the given dims.</summary>
    public Tensor norm(long[]? dims = null, bool keepdim = false) => Reduce(ReduceOp.Norm2, "norm", dims, keepdim);

    /// <summary>Largest element (a 0-dim tensor).</summary>
    public Tensor max() => amax();

    public Tensor min() => amin();

    /// <summary>Largest values along <paramref name="dim"/> and where they are.</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) => MinMax(dim, keepdim, true);

    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) => MinMax(dim, keepdim, false);

    private (Tensor, Tensor) MinMax(long dim, bool keepdim, bool isMax)
    {
        Check(dt_minmax_dim(Handle, dim, keepdim ? 1 : 0, isMax ? 1 : 0, out var v, out var i), isMax ? "max" : "min", this);
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor argmax(long? dim = null, bool keepdim = false) =>
        Wrap(dt_argminmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 1, out var r), r, "argmax", this);

    public Tensor argmin(long? dim = null, bool keepdim = false) =>
        Wrap(dt_argminmax(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 0, out var r), r, "argmin", this);

    /// <summary>Variance with Bessel's correction by default (<paramref name="unbiased"/>), as torch.var.</summary>
    public Tensor var(long[]? dims = null, bool unbiased = true, bool keepdim = false) => Moment(dims, unbiased ? 1 : 0, keepdim, false);

    public Tensor var(long dim, bool unbiased = true, bool keepdim = false) => Moment([dim], unbiased ? 1 : 0, keepdim, false);

    public Tensor std(long[]? dims = null, bool unbiased = true, bool keepdim = false) => Moment(dims, unbiased ? 1 : 0, keepdim, true);

    public Tensor std(long dim, bool unbiased = true, bool keepdim = false) => Moment([dim], unbiased ? 1 : 0, keepdim, true);

    private unsafe Tensor Moment(long[]? dims, long correction, bool keepdim, bool takeSqrt)
    {
        fixed (long* p = dims)
            return Wrap(dt_var(Handle, dims is null ? null : p, dims?.Length ?? 0, correction, keepdim ? 1 : 0, takeSqrt ? 1 : 0, out var r), r,
                takeSqrt ? "std" : "var", this);
    }

    public Tensor cumsum(long dim) => Wrap(dt_cumsum(Handle, dim, out var r), r, "cumsum", this);
}
