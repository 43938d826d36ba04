using System.Runtime.InteropServices;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Moving data between .NET and libtorch, and between dtypes and devices.
public sealed partial class Tensor
{
    /// <summary>The single element of a one-element tensor, converted to <typeparamref name="T"/>.</summary>
    public T item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(int) || typeof(T) == typeof(bool) || typeof(T) == typeof(short) || typeof(T) == typeof(byte))
        {
            Check(dt_item_long(Handle, out var l), "item", this);
            if (typeof(T) == typeof(bool)) return (T)(object)(l != 0);
            return (T)Convert.ChangeType(l, typeof(T));
        }
        Check(dt_item_double(Handle, out var d), "item", this);
        return typeof(T) == typeof(double) ? (T)(object)d : typeof(T) == typeof(float) ? (T)(object)(float)d : (T)Convert.ChangeType(d, typeof(T));
    }

    /// <summary>A copy of the elements in row-major order (one copy, from any device or stride).</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>("ToArray");
        var result = new T[numel()];
        fixed (T* p = result) Check(dt_to_buffer(Handle, p, (long)result.Length * sizeof(T)), "ToArray", this);
        return result;
    }

    /// <summary>Copies the elements into <paramref name="destination"/>, which must hold exactly numel() elements.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>("CopyTo");
        fixed (T* p = destination) Check(dt_to_buffer(Handle, p, (long)destination.Length * sizeof(T)), "CopyTo", this);
    }

    /// <summary>
    /// The tensor's own memory, without a copy: only for contiguous CPU tensors. The span is valid
    /// while the tensor is alive; writes go straight into the tensor.
    /// </summary>
    public unsafe Span<T> data<T>() where T : unmanaged
    {
        CheckElementType<T>("data");
        if (device.Type != DeviceType.CPU) throw new InvalidOperationException($"data<{typeof(T).Name}>() needs a CPU tensor, this one is on {device}");
        if (!is_contiguous()) throw new InvalidOperationException("data<T>() needs a contiguous tensor: call contiguous() first");
        Check(dt_data_ptr(Handle, out var ptr), "data", this);
        return new Span<T>((void*)ptr, checked((int)numel()));
    }

    private void CheckElementType<T>(string op) where T : unmanaged
    {
        var expected = ScalarTypeExtensions.Of<T>();
        if (dtype != expected)
            throw new InvalidOperationException($"{op}<{typeof(T).Name}>() needs a {expected.Name()} tensor, this one is {dtype.Name()}: convert with to(ScalarType.{expected})");
    }

    public Tensor to(ScalarType type, bool copy = false) => To(type, device, copy);

    public Tensor to(Device target, bool copy = false) => To(dtype, target, copy);

    public Tensor to(Device target, ScalarType type, bool copy = false) => To(type, target, copy);

    public Tensor cpu() => to(Device.CPU);

    public Tensor cuda(int index = 0) => to(Device.CUDA(index));

    private Tensor To(ScalarType type, Device target, bool copy)
    {
        torch.EnsureDevice(target);
        return Wrap(dt_to(Handle, (int)type, (int)target.Type, target.Index, copy ? 1 : 0, out var r), r, $"to({target}, {type.Name()})", this);
    }

    public Tensor @float() => to(ScalarType.Float32);

    public Tensor @double() => to(ScalarType.Float64);

    public Tensor @long() => to(ScalarType.Int64);

    public Tensor @bool() => to(ScalarType.Bool);

    /// <summary>A few leading values, for debugging: "tensor([1, 2, 3], float32)".</summary>
    public string ToString(int maxElements)
    {
        using var flat = to(Device.CPU, ScalarType.Float64).flatten();
        var n = (int)Math.Min(flat.numel(), maxElements);
        var values = flat.ToArray<double>().Take(n).Select(v => v.ToString("G6"));
        return $"tensor([{string.Join(", ", values)}{(flat.numel() > n ? ", …" : "")}], {Describe()})";
    }
}
