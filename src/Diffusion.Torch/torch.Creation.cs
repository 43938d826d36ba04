using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Creating tensors: constants, ranges, copies of .NET data, joins.
public static partial class torch
{
    public static readonly ScalarType float16 = ScalarType.Float16, bfloat16 = ScalarType.BFloat16,
        float32 = ScalarType.Float32, float64 = ScalarType.Float64, int32 = ScalarType.Int32,
        int64 = ScalarType.Int64, uint8 = ScalarType.UInt8, @bool = ScalarType.Bool;

    /// <summary>The default element type for floating-point creation, as in PyTorch.</summary>
    public const ScalarType DefaultFloat = ScalarType.Float32;

    private unsafe delegate int ShapeFactory(long* shape, int n, int dtype, int deviceType, int deviceIndex, out IntPtr result);

    private static unsafe Tensor Create(ShapeFactory f, string op, long[] shape, ScalarType dtype, Device? device)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        fixed (long* p = shape) return Tensor.Wrap(f(p, shape.Length, (int)dtype, (int)d.Type, d.Index, out var r), r, $"{op}([{string.Join(", ", shape)}])");
    }

    public static unsafe Tensor empty(long[] shape, ScalarType dtype = DefaultFloat, Device? device = null) => Create(dt_empty, "empty", shape, dtype, device);
    public static unsafe Tensor zeros(long[] shape, ScalarType dtype = DefaultFloat, Device? device = null) => Create(dt_zeros, "zeros", shape, dtype, device);
    public static unsafe Tensor ones(long[] shape, ScalarType dtype = DefaultFloat, Device? device = null) => Create(dt_ones, "ones", shape, dtype, device);
    public static Tensor zeros(params long[] shape) => zeros(shape, DefaultFloat);
    public static Tensor ones(params long[] shape) => ones(shape, DefaultFloat);

    public static Tensor zeros_like(Tensor t) => zeros(t.shape, t.dtype, t.device);
    public static Tensor ones_like(Tensor t) => ones(t.shape, t.dtype, t.device);
    public static Tensor empty_like(Tensor t) => empty(t.shape, t.dtype, t.device);
    public static Tensor full_like(Tensor t, Scalar value) => full(t.shape, value, t.dtype, t.device);

    public static unsafe Tensor full(long[] shape, Scalar value, ScalarType dtype = DefaultFloat, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        fixed (long* p = shape)
            return Tensor.Wrap(dt_full(p, shape.Length, value, (int)dtype, (int)d.Type, d.Index, out var r), r, $"full([{string.Join(", ", shape)}], {value})");
    }

    /// <summary>[start, end) in steps of step; integral arguments give int64, as in PyTorch, unless dtype is given.</summary>
    public static Tensor arange(Scalar start, Scalar end, Scalar step, ScalarType dtype, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        return Tensor.Wrap(dt_arange(start, end, step, (int)dtype, (int)d.Type, d.Index, out var r), r, $"arange({start}, {end}, {step})");
    }

    public static Tensor arange(long end) => arange(0, end, 1, ScalarType.Int64);
    public static Tensor arange(long start, long end, long step = 1) => arange(start, end, step, ScalarType.Int64);
    public static Tensor arange(double start, double end, double step = 1) => arange(start, end, step, DefaultFloat);

    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = DefaultFloat, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        return Tensor.Wrap(dt_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index, out var r), r, $"linspace({start}, {end}, {steps})");
    }

    public static Tensor eye(long n, long? m = null, ScalarType dtype = DefaultFloat, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        return Tensor.Wrap(dt_eye(n, m ?? n, (int)dtype, (int)d.Type, d.Index, out var r), r, $"eye({n}, {m ?? n})");
    }

    /// <summary>A 0-dim tensor holding <paramref name="value"/>.</summary>
    public static Tensor scalar_tensor(Scalar value, ScalarType dtype = DefaultFloat, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        return Tensor.Wrap(dt_scalar_tensor(value, (int)dtype, (int)d.Type, d.Index, out var r), r, "scalar_tensor");
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/> (one copy, straight into tensor storage).</summary>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null) where T : unmanaged
    {
        var dtype = ScalarTypeExtensions.Of<T>();
        Tensor cpu;
        fixed (T* p = data)
        fixed (long* s = shape)
            cpu = Tensor.Wrap(dt_from_buffer(p, (long)data.Length * sizeof(T), s, shape.Length, (int)dtype, out var r), r,
                $"tensor({data.Length} × {dtype.Name()} into [{string.Join(", ", shape)}])");
        if (device is not { Type: DeviceType.CUDA } d) return cpu;
        var moved = cpu.to(d);
        cpu.Dispose();
        return moved;
    }

    public static Tensor tensor<T>(T[] data, long[] shape, Device? device = null) where T : unmanaged => tensor((ReadOnlySpan<T>)data, shape, device);

    /// <summary>A 1-D tensor of the values.</summary>
    public static Tensor tensor<T>(params T[] data) where T : unmanaged => tensor((ReadOnlySpan<T>)data, [data.Length]);

    /// <summary>A 2-D tensor from a rectangular .NET array.</summary>
    public static Tensor tensor<T>(T[,] data) where T : unmanaged
    {
        var flat = new T[data.Length];
        var k = 0;
        foreach (var v in data) flat[k++] = v;
        return tensor(flat, [data.GetLength(0), data.GetLength(1)]);
    }

    private unsafe delegate int ListCall(IntPtr* handles, int n, out IntPtr result);

    /// <summary>Calls the shim with raw handles of a tensor list, keeping every handle alive for the call.</summary>
    private static unsafe Tensor CallWithList(string op, Tensor[] tensors, ListCall call)
    {
        var handles = new IntPtr[tensors.Length];
        var added = 0;
        try
        {
            foreach (var t in tensors)
            {
                var ok = false;
                t.Handle.DangerousAddRef(ref ok);
                handles[added++] = t.Handle.DangerousGetHandle();
            }
            fixed (IntPtr* p = handles)
            {
                var status = call(p, handles.Length, out var r);
                if (status != 0) Tensor.Throw(status, op, tensors);
                return new Tensor(r);
            }
        }
        finally
        {
            for (var k = 0; k < added; k++) tensors[k].Handle.DangerousRelease();
        }
    }

    public static unsafe Tensor cat(Tensor[] tensors, long dim = 0)
    {
        if (tensors.Length == 0) throw new ArgumentException("cat needs at least one tensor", nameof(tensors));
        return CallWithList("cat", tensors, (IntPtr* p, int n, out IntPtr r) => dt_cat(p, n, dim, out r));
    }

    public static unsafe Tensor stack(Tensor[] tensors, long dim = 0)
    {
        if (tensors.Length == 0) throw new ArgumentException("stack needs at least one tensor", nameof(tensors));
        return CallWithList("stack", tensors, (IntPtr* p, int n, out IntPtr r) => dt_stack(p, n, dim, out r));
    }

    public static Tensor where(Tensor condition, Tensor a, Tensor b) =>
        Tensor.Wrap(dt_where(condition.Handle, a.Handle, b.Handle, out var r), r, "where", condition, a, b);

    public static unsafe Tensor einsum(string equation, params Tensor[] operands) =>
        CallWithList($"einsum(\"{equation}\")", operands, (IntPtr* p, int n, out IntPtr r) => dt_einsum(equation, p, n, out r));

    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
}
