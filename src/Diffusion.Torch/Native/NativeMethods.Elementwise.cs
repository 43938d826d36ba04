using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int dt_unary(UnaryOp op, TensorHandle a, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_unary_(UnaryOp op, TensorHandle a);
    [LibraryImport(Lib)] internal static partial int dt_binary(BinaryOp op, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_binary_scalar(BinaryOp op, TensorHandle a, Scalar b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_scalar_binary(BinaryOp op, Scalar a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_binary_(BinaryOp op, TensorHandle a, TensorHandle b);
    [LibraryImport(Lib)] internal static partial int dt_binary_scalar_(BinaryOp op, TensorHandle a, Scalar b);

    [LibraryImport(Lib)] internal static partial int dt_add_scaled(TensorHandle a, TensorHandle b, Scalar alpha, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_add_scaled_(TensorHandle a, TensorHandle b, Scalar alpha);
    [LibraryImport(Lib)] internal static partial int dt_addcmul_(TensorHandle a, TensorHandle b, TensorHandle c, Scalar value);
    [LibraryImport(Lib)] internal static partial int dt_addcdiv_(TensorHandle a, TensorHandle b, TensorHandle c, Scalar value);
    [LibraryImport(Lib)] internal static partial int dt_lerp_(TensorHandle a, TensorHandle end, Scalar weight);
    [LibraryImport(Lib)] internal static partial int dt_copy_(TensorHandle dst, TensorHandle src);
    [LibraryImport(Lib)] internal static partial int dt_zero_(TensorHandle a);
    [LibraryImport(Lib)] internal static partial int dt_fill_(TensorHandle a, Scalar value);
    [LibraryImport(Lib)] internal static partial int dt_where(TensorHandle cond, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_masked_fill(TensorHandle a, TensorHandle mask, Scalar value, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_clamp(TensorHandle a, Scalar* lo, Scalar* hi, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_clamp_(TensorHandle a, Scalar* lo, Scalar* hi);
    [LibraryImport(Lib)] internal static partial int dt_allclose(TensorHandle a, TensorHandle b, double rtol, double atol, out int result);
    [LibraryImport(Lib)] internal static partial int dt_equal(TensorHandle a, TensorHandle b, out int result);
}
