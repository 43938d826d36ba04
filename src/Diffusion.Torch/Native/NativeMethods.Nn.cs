using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int dt_linear(TensorHandle x, TensorHandle w, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_convolution(TensorHandle x, TensorHandle w, TensorHandle b, long* stride, long* padding, long* dilation, int transposed, long* outputPadding, int n, long groups, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_group_norm(TensorHandle x, long groups, TensorHandle w, TensorHandle b, double eps, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_group_norm_fused(TensorHandle x, long groups, TensorHandle w, TensorHandle b, double eps, int silu, int outputDtype, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_layer_norm(TensorHandle x, long* shape, int n, TensorHandle w, TensorHandle b, double eps, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_batch_norm(TensorHandle x, TensorHandle w, TensorHandle b, TensorHandle runningMean, TensorHandle runningVar, int training, double momentum, double eps, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_instance_norm(TensorHandle x, TensorHandle w, TensorHandle b, TensorHandle runningMean, TensorHandle runningVar, int useInputStats, double momentum, double eps, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_softmax(TensorHandle x, long dim, int log, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_leaky_relu(TensorHandle x, double slope, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_dropout(TensorHandle x, double p, int training, GeneratorHandle g, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_avg_pool(TensorHandle x, long* kernel, long* stride, long* padding, int n, int ceilMode, int countIncludePad, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_max_pool(TensorHandle x, long* kernel, long* stride, long* padding, long* dilation, int n, int ceilMode, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_interpolate(TensorHandle x, long* size, double* scales, int n, int mode, int alignCorners, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_pad(TensorHandle x, long* pad, int n, double value, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_embedding(TensorHandle weight, TensorHandle indices, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_scaled_dot_product_attention(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, double dropoutP, int isCausal, double scale, GeneratorHandle g, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_mse_loss(TensorHandle a, TensorHandle b, int reduction, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_l1_loss(TensorHandle a, TensorHandle b, int reduction, out IntPtr result);
}
