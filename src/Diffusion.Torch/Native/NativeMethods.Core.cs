using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

// Declarations mirror native/src/*.cpp, one file each. Every call returns a status code
// (0 ok); Tensor.Check turns a failure into a TorchException with dt_last_error's message.
internal static partial class NativeMethods
{
    internal const string Lib = "diffusion_native";

    [LibraryImport(Lib)] internal static partial IntPtr dt_last_error();
    [LibraryImport(Lib)] internal static partial long dt_live_tensors();
    [LibraryImport(Lib)] internal static partial void dt_free(IntPtr t);

    [LibraryImport(Lib)] internal static partial int dt_dim(TensorHandle t, out long dim);
    [LibraryImport(Lib)] internal static unsafe partial int dt_sizes(TensorHandle t, long* sizes, int cap);
    [LibraryImport(Lib)] internal static unsafe partial int dt_strides(TensorHandle t, long* strides, int cap);
    [LibraryImport(Lib)] internal static partial int dt_dtype(TensorHandle t, out int dtype);
    [LibraryImport(Lib)] internal static partial int dt_device(TensorHandle t, out int type, out int index);
    [LibraryImport(Lib)] internal static partial int dt_numel(TensorHandle t, out long numel);
    [LibraryImport(Lib)] internal static partial int dt_is_contiguous(TensorHandle t, out int contiguous);
    [LibraryImport(Lib)] internal static partial int dt_is_contiguous_as(TensorHandle t, int format, out int contiguous);
    [LibraryImport(Lib)] internal static partial int dt_data_ptr(TensorHandle t, out IntPtr data);
    [LibraryImport(Lib)] internal static partial int dt_item_double(TensorHandle t, out double value);
    [LibraryImport(Lib)] internal static partial int dt_item_long(TensorHandle t, out long value);

    [LibraryImport(Lib)] internal static unsafe partial int dt_empty(long* shape, int n, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_zeros(long* shape, int n, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_ones(long* shape, int n, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_full(long* shape, int n, Scalar value, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_arange(Scalar start, Scalar end, Scalar step, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_linspace(double start, double end, long steps, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_eye(long n, long m, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_scalar_tensor(Scalar value, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_from_buffer(void* data, long nbytes, long* shape, int n, int dtype, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_to_buffer(TensorHandle t, void* data, long nbytes);

    [LibraryImport(Lib)] internal static partial int dt_to(TensorHandle t, int dtype, int deviceType, int deviceIndex, int copy, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_contiguous(TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_contiguous_as(TensorHandle t, int format, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_clone(TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_alias(TensorHandle t, out IntPtr result);
}
