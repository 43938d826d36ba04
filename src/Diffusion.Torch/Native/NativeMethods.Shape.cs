using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static unsafe partial int dt_reshape(TensorHandle a, long* shape, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_view(TensorHandle a, long* shape, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_permute(TensorHandle a, long* dims, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_transpose(TensorHandle a, long d0, long d1, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_flatten(TensorHandle a, long start, long end, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_unflatten(TensorHandle a, long dim, long* sizes, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_unsqueeze(TensorHandle a, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_squeeze(TensorHandle a, long dim, int hasDim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_expand(TensorHandle a, long* shape, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_repeat(TensorHandle a, long* repeats, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_flip(TensorHandle a, long* dims, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_cat(IntPtr* tensors, int n, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_stack(IntPtr* tensors, int n, long dim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_chunk(TensorHandle a, long chunks, long dim, IntPtr* outs, int cap, out int count);
    [LibraryImport(Lib)] internal static unsafe partial int dt_split_sizes(TensorHandle a, long* sizes, int n, long dim, IntPtr* outs, int cap, out int count);
    [LibraryImport(Lib)] internal static unsafe partial int dt_split(TensorHandle a, long size, long dim, IntPtr* outs, int cap, out int count);
    [LibraryImport(Lib)] internal static unsafe partial int dt_unbind(TensorHandle a, long dim, IntPtr* outs, int cap, out int count);
    [LibraryImport(Lib)] internal static partial int dt_narrow(TensorHandle a, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_slice(TensorHandle a, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_select(TensorHandle a, long dim, long index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_index_select(TensorHandle a, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_gather(TensorHandle a, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_masked_select(TensorHandle a, TensorHandle mask, out IntPtr result);

    [LibraryImport(Lib)] internal static partial int dt_matmul(TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_bmm(TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static unsafe partial int dt_einsum(string equation, IntPtr* tensors, int n, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_outer(TensorHandle a, TensorHandle b, out IntPtr result);

    [LibraryImport(Lib)] internal static unsafe partial int dt_reduce(ReduceOp op, TensorHandle a, long* dims, int n, int keepdim, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_var(TensorHandle a, long* dims, int n, long correction, int keepdim, int takeSqrt, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_minmax_dim(TensorHandle a, long dim, int keepdim, int isMax, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] internal static partial int dt_argminmax(TensorHandle a, long dim, int hasDim, int keepdim, int isMax, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_cumsum(TensorHandle a, long dim, out IntPtr result);
}
