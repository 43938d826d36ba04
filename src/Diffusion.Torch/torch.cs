using System.Runtime.InteropServices;
using System.Text;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

/// <summary>The entry point, named as in TorchSharp/PyTorch: <c>torch.zeros</c>, <c>torch.nn.functional.conv2d</c> …</summary>
public static partial class torch
{
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Turns off gradient recording on this thread until disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static GradModeScope no_grad() => new(false);

    /// <summary>Turns gradient recording on inside a no_grad region.</summary>
    public static GradModeScope enable_grad() => new(true);

    public static bool is_grad_enabled() => dt_is_grad_enabled() != 0;

    public static void set_grad_enabled(bool enabled) => dt_set_grad_enabled(enabled ? 1 : 0);

    // ---- threads ----

    public static int get_num_threads()
    {
        Tensor.Check(dt_get_num_threads(out var n), "get_num_threads");
        return n;
    }

    /// <summary>Intra-op threads for this process. See <see cref="ThreadPolicy"/> for the workload-based default.</summary>
    public static void set_num_threads(int n) => Tensor.Check(dt_set_num_threads(n), "set_num_threads");

    public static int get_num_interop_threads()
    {
        Tensor.Check(dt_get_num_interop_threads(out var n), "get_num_interop_threads");
        return n;
    }

    // ---- facts about the engine ----

    /// <summary>The libtorch version the shim was built against, e.g. "1.13.1".</summary>
    public static unsafe string version => ReadString(dt_version);

    /// <summary>libtorch's build configuration (compiler, BLAS, CPU capability …).</summary>
    public static unsafe string show_config() => ReadString(dt_show_config);

    public static unsafe string parallel_info() => ReadString(dt_parallel_info);

    /// <summary>
    /// What computes float32 CPU matrix products in <c>linear</c>: "onednn" (the oneDNN library libtorch loaded, AVX-512
    /// where the CPU has it) or "aten" (libtorch's BLAS: a libtorch without a shared oneDNN, or <c>DIFFUSION_GEMM=aten</c>).
    /// </summary>
    public static unsafe string gemm_backend() => ReadString(dt_gemm_backend);

    /// <summary>
    /// How many threads the shim's own kernels (SiLU, GELU, the fused GroupNorm) run on: libtorch's intra-op thread
    /// count when the shim was built with OpenMP, 1 when it was not (ATen's <c>parallel_for</c> is a header template
    /// that libtorch's OpenMP backend turns into <c>#pragma omp parallel</c> in the shim's own objects).
    /// </summary>
    public static int kernel_threads()
    {
        Tensor.Check(dt_kernel_threads(out var threads), "kernel_threads");
        return threads;
    }

    /// <summary>
    /// Whether bfloat16 convolutions of channels-last images (N, H, W, C) and volumes (N, D, H, W, C) run on oneDNN
    /// directly — the shim built with oneDNN's headers (Debian's libdnnl-dev) and <c>DIFFUSION_CONV</c> not set to "aten".
    /// ATen 1.13 would reorder every volume into oneDNN's blocked layout and back, and takes slower kernels for images
    /// (README, Precision).
    /// </summary>
    public static bool conv_channels_last()
    {
        Tensor.Check(dt_conv_channels_last(out var available), "conv_channels_last");
        return available != 0;
    }

    /// <summary>
    /// Whether bfloat16 3×3 convolutions (stride 1, padding 1, images of at least 8×8, at least 128 input and output
    /// channels) that autograd does not record — sampling, evaluation — run by Winograd's F(2×2, 3×3): 16 products per
    /// 2×2 outputs and channel pair where the direct kernel takes 36, the transforms on AVX512-BF16. True when the shim
    /// was built with oneDNN's headers, the CPU has AVX512-BF16 and neither <c>DIFFUSION_WINOGRAD=0</c> nor
    /// <see cref="set_winograd"/> switched it off. Results differ from the direct kernel's by about one bfloat16 rounding
    /// (README, Precision).
    /// </summary>
    public static bool winograd()
    {
        Tensor.Check(dt_winograd(out var used), "winograd");
        return used != 0;
    }

    /// <summary>
    /// Switches the Winograd convolutions off (<c>false</c>: the direct kernel for every bfloat16 convolution) or back on,
    /// for the whole process — for tests, comparisons and reproducing runs made without it.
    /// </summary>
    public static void set_winograd(bool on) => Tensor.Check(dt_set_winograd(on ? 1 : 0), "set_winograd");

    /// <summary>
    /// Whether the weight and bias gradients of bfloat16 3-D convolutions at stride 1 with "same" padding (an odd kernel
    /// larger than 1, input channels a multiple of 16, output channels of 8, at least two samples) are computed by the
    /// shim's own kernel, which pairs samples in AVX512-BF16's dot products, instead of oneDNN's backward-weights kernel.
    /// True when the CPU has AVX512-BF16 and neither <c>DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0</c> nor
    /// <see cref="set_paired_weight_gradients"/> switched it off. Both accumulate in float32 and round once; results
    /// differ by float32 summation order (README, Precision).
    /// </summary>
    public static bool paired_weight_gradients()
    {
        Tensor.Check(dt_paired_weight_gradients(out var used), "paired_weight_gradients");
        return used != 0;
    }

    /// <summary>
    /// Switches the paired weight gradients off (<c>false</c>: oneDNN's kernel for every bfloat16 convolution's weight
    /// gradient) or back on, for the whole process — for tests and comparisons.
    /// </summary>
    public static void set_paired_weight_gradients(bool on) =>
        Tensor.Check(dt_set_paired_weight_gradients(on ? 1 : 0), "set_paired_weight_gradients");

    /// <summary>
    /// Whether the fused GroupNorm(→SiLU) runs its bfloat16 channels-last loops on AVX512-BF16 intrinsics — the CPU has
    /// that ISA and <see cref="set_norm_intrinsics"/> has not switched them off — rather than on the generic vectorised
    /// loops (the same results up to rounding; README, Performance).
    /// </summary>
    public static bool norm_intrinsics()
    {
        Tensor.Check(dt_norm_intrinsics(out var used), "norm_intrinsics");
        return used != 0;
    }

    /// <summary>
    /// Switches the GroupNorm's AVX512-BF16 loops off (<c>false</c>: the generic loops on any CPU) or back on, for the whole
    /// process — for tests and comparisons; on a CPU without the ISA it changes nothing.
    /// </summary>
    public static void set_norm_intrinsics(bool on) => Tensor.Check(dt_set_norm_intrinsics(on ? 1 : 0), "set_norm_intrinsics");

    /// <summary>The vector instruction set libtorch dispatches to on this CPU (e.g. "AVX2").</summary>
    public static string cpu_capability()
    {
        foreach (var line in show_config().Split('\n'))
        {
            const string key = "CPU capability usage:";
            var at = line.IndexOf(key, StringComparison.Ordinal);
            if (at >= 0) return line[(at + key.Length)..].Trim();
        }
        return "unknown";
    }

    private unsafe delegate int StringCall(byte* buf, int cap, out int needed);

    private static unsafe string ReadString(StringCall call)
    {
        Tensor.Check(call(null, 0, out var needed), "query");
        var buf = new byte[needed];
        fixed (byte* p = buf) Tensor.Check(call(p, buf.Length, out _), "query");
        return Encoding.UTF8.GetString(buf, 0, Math.Max(0, needed - 1));
    }

    /// <summary>
    /// CPU tensor memory. Buffers of 128 KiB and more come from the shim's caching allocator (page-aligned mappings kept
    /// for reuse when freed, in size classes an eighth of a power of two apart, so a training step that repeats the
    /// previous one's sizes maps nothing new; blocks left unused far longer than reused ones wait are unmapped);
    /// smaller ones from glibc malloc. The statistics count the large buffers only, by size class.
    /// <c>DIFFUSION_MALLOC=default</c> keeps libtorch's own allocator (no statistics).
    /// </summary>
    public static class cpu
    {
        /// <summary>Whether the caching allocator is in use (false with <c>DIFFUSION_MALLOC=default</c>).</summary>
        public static bool caching_allocator
        {
            get
            {
                Tensor.Check(dt_cpu_caching_allocator(out var installed), "cpu.caching_allocator");
                return installed != 0;
            }
        }

        public static unsafe CpuMemoryStats memory_stats()
        {
            var v = stackalloc long[7];
            Tensor.Check(dt_cpu_memory_stats(v), "cpu.memory_stats");
            return new CpuMemoryStats(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
        }

        /// <summary>Bytes in live tensors' large buffers.</summary>
        public static long memory_allocated() => memory_stats().Allocated;

        /// <summary>Bytes mapped for large buffers: live plus cached for reuse.</summary>
        public static long memory_reserved() => memory_stats().Reserved;

        /// <summary>Unmaps every cached buffer (live tensors keep theirs), e.g. after a large evaluation.</summary>
        public static void empty_cache() => Tensor.Check(dt_cpu_empty_cache(), "cpu.empty_cache");
    }

    public static class cuda
    {
        public static bool is_available()
        {
            Tensor.Check(dt_cuda_is_available(out var a), "cuda.is_available");
            return a != 0;
        }

        public static int device_count()
        {
            Tensor.Check(dt_cuda_device_count(out var n), "cuda.device_count");
            return n;
        }

        public static void synchronize(int device = 0) => Tensor.Check(dt_cuda_synchronize(device), "cuda.synchronize");
    }

    /// <summary>Fails with a clear message before libtorch sees a device it cannot use.</summary>
    internal static void EnsureDevice(Device device)
    {
        if (device.Type == DeviceType.CPU) return;
        if (!cuda.is_available())
            throw new TorchException("device", $"'{device}' was requested but this libtorch ({version}) was built without CUDA support or sees no GPU; " +
                "build the shim against a CUDA libtorch (set LIBTORCH to its root, then dotnet build) on a machine with an NVIDIA driver", "");
        if (device.Index >= cuda.device_count())
            throw new TorchException("device", $"'{device}' was requested but only {cuda.device_count()} CUDA device(s) are visible", "");
    }
}

/// <summary>Restores the previous grad mode of this thread when disposed.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly bool previous;

    internal GradModeScope(bool enabled)
    {
        previous = dt_is_grad_enabled() != 0;
        dt_set_grad_enabled(enabled ? 1 : 0);
    }

    public void Dispose() => dt_set_grad_enabled(previous ? 1 : 0);
}
