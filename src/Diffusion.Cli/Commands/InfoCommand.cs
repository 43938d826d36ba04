using System.CommandLine;
using Diffusion.Torch;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary><c>diffusion info</c>: what engine this build runs on.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the libtorch version, threads, devices and CPU capability");
        command.SetAction(_ => CliSupport.Guard(() =>
        {
            var table = new Table().AddColumns("", "");
            table.HideHeaders();
            foreach (var (key, value) in Facts()) table.AddRow(key, Markup.Escape(value));
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    public static IEnumerable<(string, string)> Facts()
    {
        yield return ("libtorch", torch.version);
        yield return ("threads", $"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op ({Environment.ProcessorCount} cores)");
        var cuda = torch.cuda.is_available();
        yield return ("devices", cuda ? $"cpu, {string.Join(", ", Enumerable.Range(0, torch.cuda.device_count()).Select(i => $"cuda:{i}"))}" : "cpu (no CUDA in this libtorch)");
        yield return ("CPU capability", torch.cpu_capability());
        yield return ("CPU allocator", torch.cpu.caching_allocator
            ? "caching: buffers ≥ 128 KiB kept for reuse, smaller ones glibc malloc (DIFFUSION_MALLOC=default to opt out)" : "libtorch's default (glibc malloc)");
        yield return ("float32 GEMM", torch.gemm_backend() == "onednn"
            ? "oneDNN sgemm for linear layers (DIFFUSION_GEMM=aten to opt out)" : "libtorch's BLAS (no shared oneDNN in this libtorch, or DIFFUSION_GEMM=aten)");
        int kernelThreads = torch.kernel_threads(), intraOp = torch.get_num_threads();
        yield return ("shim kernels", kernelThreads == intraOp
            ? $"SiLU, GELU, GroupNorm use every intra-op thread ({intraOp}; OpenMP)"
            : $"SiLU, GELU, GroupNorm run on {kernelThreads} of {intraOp} intra-op threads (the shim was built without OpenMP)");
        yield return ("bf16 GroupNorm", torch.norm_intrinsics()
            ? "AVX512-BF16 loops for channels-last activations"
            : "generic vectorised loops (this CPU lacks AVX512-BF16)");
        yield return ("bf16 convolutions", torch.conv_channels_last()
            ? "oneDNN directly on channels-last images and volumes (DIFFUSION_CONV=aten to opt out)"
            : "ATen's path, which reorders every volume (the shim was built without libdnnl-dev, or DIFFUSION_CONV=aten)");
        yield return ("bf16 sampling convolutions", torch.winograd()
            ? "Winograd F(2x2,3x3) for 3x3 layers of at least 128 channels outside autograd (DIFFUSION_WINOGRAD=0 to opt out)"
            : "direct (no AVX512-BF16 or libdnnl-dev here, or DIFFUSION_WINOGRAD=0)");
        yield return ("bf16 3-D weight gradients", torch.paired_weight_gradients()
            ? "the shim's kernel, samples paired in AVX512-BF16 dot products, for stride-1 same-padded layers (DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0 to opt out)"
            : "oneDNN's backward-weights kernel (no AVX512-BF16 here, or DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0)");
        yield return (".NET", Environment.Version.ToString());
    }
}
