using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Views, reshapes, splits and indexing.
public sealed partial class Tensor
{
    public unsafe Tensor reshape(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(dt_reshape(Handle, p, shape.Length, out var r), r, "reshape", this);
    }

    public unsafe Tensor view(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(dt_view(Handle, p, shape.Length, out var r), r, "view", this);
    }

    public unsafe Tensor permute(params long[] dims)
    {
        fixed (long* p = dims) return Wrap(dt_permute(Handle, p, dims.Length, out var r), r, "permute", this);
    }

    public Tensor transpose(long dim0, long dim1) => Wrap(dt_transpose(Handle, dim0, dim1, out var r), r, "transpose", this);

    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor T => transpose(0, 1);

    public Tensor flatten(long startDim = 0, long endDim = -1) => Wrap(dt_flatten(Handle, startDim, endDim, out var r), r, "flatten", this);

    public unsafe Tensor unflatten(long dim, params long[] sizes)
    {
        fixed (long* p = sizes) return Wrap(dt_unflatten(Handle, dim, p, sizes.Length, out var r), r, "unflatten", this);
    }

    public Tensor unsqueeze(long dim) => Wrap(dt_unsqueeze(Handle, dim, out var r), r, "unsqueeze", this);

    /// <summary>Removes <paramref name="dim"/> if it has size 1, or every size-1 dim when none is given.</summary>
    public Tensor squeeze(long? dim = null) => Wrap(dt_squeeze(Handle, dim ?? 0, dim.HasValue ? 1 : 0, out var r), r, "squeeze", this);

    public unsafe Tensor expand(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(dt_expand(Handle, p, shape.Length, out var r), r, "expand", this);
    }

    public Tensor expand_as(Tensor other) => expand(other.shape);

    public unsafe Tensor repeat(params long[] repeats)
    {
        fixed (long* p = repeats) return Wrap(dt_repeat(Handle, p, repeats.Length, out var r), r, "repeat", this);
    }

    public unsafe Tensor flip(params long[] dims)
    {
        fixed (long* p = dims) return Wrap(dt_flip(Handle, p, dims.Length, out var r), r, "flip", this);
    }

    public Tensor narrow(long dim, long start, long length) => Wrap(dt_narrow(Handle, dim, start, length, out var r), r, "narrow", this);

    /// <summary>Python's <c>x[..., start:end:step, ...]</c> along one dim (end clamps, negative indices count from the end).</summary>
    public Tensor slice(long dim, long start, long end = long.MaxValue, long step = 1) =>
        Wrap(dt_slice(Handle, dim, start, end, step, out var r), r, "slice", this);

    public Tensor select(long dim, long index) => Wrap(dt_select(Handle, dim, index, out var r), r, "select", this);

    /// <summary><c>x[i]</c>, <c>x[i, j]</c> …: selects along the leading dims.</summary>
    public Tensor this[params long[] indices]
    {
        get
        {
            if (indices.Length == 0) return alias();
            var result = select(0, indices[0]);
            for (var k = 1; k < indices.Length; k++)
            {
                var next = result.select(0, indices[k]);
                result.Dispose();
                result = next;
            }
            return result;
        }
    }

    public Tensor index_select(long dim, Tensor index) => Wrap(dt_index_select(Handle, dim, index.Handle, out var r), r, "index_select", this, index);
    public Tensor gather(long dim, Tensor index) => Wrap(dt_gather(Handle, dim, index.Handle, out var r), r, "gather", this, index);
    public Tensor masked_select(Tensor mask) => Wrap(dt_masked_select(Handle, mask.Handle, out var r), r, "masked_select", this, mask);

    public unsafe Tensor[] chunk(long chunks, long dim = 0)
    {
        if (chunks <= 0) throw new ArgumentOutOfRangeException(nameof(chunks), $"chunk expects a positive number of chunks, got {chunks}");
        var outs = new IntPtr[chunks];
        fixed (IntPtr* p = outs) return WrapList(dt_chunk(Handle, chunks, dim, p, outs.Length, out var n), outs, n, "chunk");
    }

    /// <summary>Splits into pieces of <paramref name="size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
    public unsafe Tensor[] split(long size, long dim = 0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"split expects a positive size, got {size}");
        var outs = new IntPtr[Math.Max(1, (this.size((int)dim) + size - 1) / size)];
        fixed (IntPtr* p = outs) return WrapList(dt_split(Handle, size, dim, p, outs.Length, out var n), outs, n, "split");
    }

    public unsafe Tensor[] split(long[] sizes, long dim = 0)
    {
        var outs = new IntPtr[sizes.Length];
        fixed (IntPtr* p = outs)
        fixed (long* s = sizes)
            return WrapList(dt_split_sizes(Handle, s, sizes.Length, dim, p, outs.Length, out var n), outs, n, "split");
    }

    public unsafe Tensor[] unbind(long dim = 0)
    {
        var outs = new IntPtr[size((int)dim)];
        fixed (IntPtr* p = outs) return WrapList(dt_unbind(Handle, dim, p, outs.Length, out var n), outs, n, "unbind");
    }

    private Tensor[] WrapList(int status, IntPtr[] outs, int count, string op)
    {
        Check(status, op, this);
        var result = new Tensor[count];
        for (var k = 0; k < count; k++) result[k] = new Tensor(outs[k]);
        return result;
    }

    public Tensor contiguous() => Wrap(dt_contiguous(Handle, out var r), r, "contiguous", this);

    /// <summary>This tensor stored densely in <paramref name="format"/> (itself when it already is); shape and values are unchanged.</summary>
    public Tensor contiguous(MemoryFormat format) => Wrap(dt_contiguous_as(Handle, (int)format, out var r), r, $"contiguous({format})", this);

    /// <summary>A new handle to the same tensor (shares storage and autograd identity).</summary>
    public Tensor alias() => Wrap(dt_alias(Handle, out var r), r, "alias", this);

    public Tensor clone() => Wrap(dt_clone(Handle, out var r), r, "clone", this);
}
