using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int dt_requires_grad(TensorHandle t, out int value);
    [LibraryImport(Lib)] internal static partial int dt_set_requires_grad(TensorHandle t, int value);
    [LibraryImport(Lib)] internal static partial int dt_tensor_version(TensorHandle t, out long version);
    [LibraryImport(Lib)] internal static partial int dt_is_leaf(TensorHandle t, out int value);
    [LibraryImport(Lib)] internal static partial int dt_backward(TensorHandle t, TensorHandle grad, int retainGraph);
    [LibraryImport(Lib)] internal static partial int dt_grad(TensorHandle t, out IntPtr grad);
    [LibraryImport(Lib)] internal static unsafe partial int dt_autograd_grad(IntPtr* outputs, int nOutputs, IntPtr* inputs, int nInputs,
        IntPtr* gradOutputs, int retainGraph, int createGraph, int allowUnused, IntPtr* results);
    [LibraryImport(Lib)] internal static partial int dt_set_grad(TensorHandle t, TensorHandle grad);
    [LibraryImport(Lib)] internal static partial int dt_detach(TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_detach_(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int dt_is_grad_enabled();
    [LibraryImport(Lib)] internal static partial void dt_set_grad_enabled(int enabled);

    [LibraryImport(Lib)] internal static partial int dt_generator_new(ulong seed, out IntPtr generator);
    [LibraryImport(Lib)] internal static partial void dt_generator_free(IntPtr g);
    [LibraryImport(Lib)] internal static partial int dt_generator_seed(GeneratorHandle g, out ulong seed);
    [LibraryImport(Lib)] internal static partial int dt_generator_manual_seed(GeneratorHandle g, ulong seed);
    [LibraryImport(Lib)] internal static partial int dt_generator_get_state(GeneratorHandle g, out IntPtr state);
    [LibraryImport(Lib)] internal static partial int dt_generator_set_state(GeneratorHandle g, TensorHandle state);
    [LibraryImport(Lib)] internal static unsafe partial int dt_rand(long* shape, int n, GeneratorHandle g, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_randn(long* shape, int n, GeneratorHandle g, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static unsafe partial int dt_randint(long low, long high, long* shape, int n, GeneratorHandle g, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_randperm(long n, GeneratorHandle g, int deviceType, int deviceIndex, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_bernoulli(TensorHandle p, GeneratorHandle g, out IntPtr result);
    [LibraryImport(Lib)] internal static partial int dt_uniform_(TensorHandle t, double from, double to, GeneratorHandle g);
    [LibraryImport(Lib)] internal static partial int dt_normal_(TensorHandle t, double mean, double std, GeneratorHandle g);

    [LibraryImport(Lib)] internal static partial int dt_get_num_threads(out int n);
    [LibraryImport(Lib)] internal static partial int dt_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int dt_get_num_interop_threads(out int n);
    [LibraryImport(Lib)] internal static partial int dt_cpu_caching_allocator(out int installed);
    [LibraryImport(Lib)] internal static unsafe partial int dt_cpu_memory_stats(long* out7);
    [LibraryImport(Lib)] internal static partial int dt_cpu_empty_cache();
    [LibraryImport(Lib)] internal static partial int dt_cuda_is_available(out int available);
    [LibraryImport(Lib)] internal static partial int dt_cuda_device_count(out int count);
    [LibraryImport(Lib)] internal static partial int dt_cuda_synchronize(int device);
    [LibraryImport(Lib)] internal static unsafe partial int dt_version(byte* buf, int cap, out int needed);
    [LibraryImport(Lib)] internal static unsafe partial int dt_show_config(byte* buf, int cap, out int needed);
    [LibraryImport(Lib)] internal static unsafe partial int dt_parallel_info(byte* buf, int cap, out int needed);
    [LibraryImport(Lib)] internal static unsafe partial int dt_gemm_backend(byte* buf, int cap, out int needed);
    [LibraryImport(Lib)] internal static partial int dt_kernel_threads(out int threads);
    [LibraryImport(Lib)] internal static partial int dt_conv_channels_last(out int available);
    [LibraryImport(Lib)] internal static partial int dt_winograd(out int used);
    [LibraryImport(Lib)] internal static partial int dt_set_winograd(int on);
    [LibraryImport(Lib)] internal static partial int dt_paired_weight_gradients(out int used);
    [LibraryImport(Lib)] internal static partial int dt_set_paired_weight_gradients(int on);
    [LibraryImport(Lib)] internal static partial int dt_norm_intrinsics(out int used);
    [LibraryImport(Lib)] internal static partial int dt_set_norm_intrinsics(int on);
    [LibraryImport(Lib)] internal static partial int dt_profiler_start();
    [LibraryImport(Lib)] internal static partial int dt_profiler_stop();
    [LibraryImport(Lib)] internal static unsafe partial int dt_profiler_report(byte* buf, int cap, out int needed);
    // For the test that the loaded shim numbers the op codes as the generated UnaryOp/BinaryOp/ReduceOp enums do.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int dt_opcode_name(string enumName, int code, out IntPtr name);
}
