using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

/// <summary>
/// A libtorch tensor. Memory is released by <see cref="Dispose"/>, by the innermost
/// <see cref="DisposeScope"/> alive when it was created, or (last resort) by the GC.
/// Using a disposed tensor throws <see cref="ObjectDisposedException"/>.
/// Members follow PyTorch's names; see the partial files for each op family.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;

    internal Tensor(IntPtr raw)
    {
        handle = new TensorHandle(raw);
        DisposeScope.Current?.Add(this);
    }

    internal DisposeScope? Scope { get; set; }

    /// <summary>The handle for a native call; throws when the tensor was disposed.</summary>
    internal TensorHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            return handle;
        }
    }

    public bool IsDisposed => handle.IsClosed;

    public void Dispose() => handle.Dispose();

    /// <summary>Moves this tensor to the scope enclosing its current one.</summary>
    public Tensor MoveToOuterDisposeScope() => Scope is { } s ? s.MoveToOuter(this) : this;

    /// <summary>Removes this tensor from its scope: the caller now owns it.</summary>
    public Tensor DetachFromDisposeScope() => Scope is { } s ? s.Detach(this) : this;

    // ---- metadata ----

    public long dim()
    {
        Check(dt_dim(Handle, out var d), "dim", this);
        return d;
    }

    public long ndim => dim();

    public unsafe long[] shape
    {
        get
        {
            var result = new long[dim()];
            fixed (long* p = result) Check(dt_sizes(Handle, p, result.Length), "shape", this);
            return result;
        }
    }

    public long size(int d)
    {
        var s = shape;
        var i = d < 0 ? d + s.Length : d;
        if (i < 0 || i >= s.Length) throw new ArgumentOutOfRangeException(nameof(d), $"dim {d} is out of range for a tensor of {s.Length} dims");
        return s[i];
    }

    public unsafe long[] stride()
    {
        var result = new long[dim()];
        fixed (long* p = result) Check(dt_strides(Handle, p, result.Length), "stride", this);
        return result;
    }

    public ScalarType dtype
    {
        get
        {
            Check(dt_dtype(Handle, out var t), "dtype", this);
            return (ScalarType)t;
        }
    }

    public Device device
    {
        get
        {
            Check(dt_device(Handle, out var type, out var index), "device", this);
            return new Device((DeviceType)type, index);
        }
    }

    public long numel()
    {
        Check(dt_numel(Handle, out var n), "numel", this);
        return n;
    }

    public bool is_contiguous()
    {
        Check(dt_is_contiguous(Handle, out var c), "is_contiguous", this);
        return c != 0;
    }

    /// <summary>Whether the elements lie densely in <paramref name="format"/>'s order (channels-last: (N, *spatial, C)).</summary>
    public bool is_contiguous(MemoryFormat format)
    {
        Check(dt_is_contiguous_as(Handle, (int)format, out var c), "is_contiguous", this);
        return c != 0;
    }

    /// <summary>"[2, 3] float32" — used in error messages and summaries.</summary>
    public string Describe()
    {
        if (IsDisposed) return "<disposed>";
        var dev = device;
        return $"[{string.Join(", ", shape)}] {dtype.Name()}{(dev.Type == DeviceType.CPU ? "" : " " + dev)}";
    }

    public override string ToString() => $"tensor({Describe()})";

    // ---- failures ----

    /// <summary>Throws the failure of a native call, naming the op and the shapes of its tensor arguments.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int status, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (status != 0) Throw(status, op, a, b, c);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Throw(int status, string op, params Tensor?[] args)
    {
        var message = Marshal.PtrToStringUTF8(dt_last_error()) ?? "";
        var shapes = string.Join(", ", args.Where(t => t is not null).Select(t => t!.Describe()));
        if (status == 2) throw new TorchOutOfMemoryException($"{op}({shapes}): {message}");
        throw new TorchException(op, message, shapes);
    }

    /// <summary>Wraps a fresh native result after checking the call succeeded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor Wrap(int status, IntPtr result, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (status != 0) Throw(status, op, a, b, c);
        return new Tensor(result);
    }

    /// <summary>Number of native tensors alive in this process (a leak check).</summary>
    public static long LiveNativeTensors => dt_live_tensors();

    /// <summary>
    /// <see cref="LiveNativeTensors"/> after the GC has collected and finalized every unreachable tensor, so that a
    /// later reading differs only by what the code in between created and kept (a baseline for leak checks).
    /// </summary>
    public static long SettledLiveNativeTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return dt_live_tensors();
    }
}
