using System.Runtime.InteropServices;
using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;
using ReduceOp = Diffusion.Torch.torch.distributed.ReduceOp;

namespace Diffusion.Torch;

/// <summary>
/// A group of processes (ranks 0 … <see cref="world_size"/> − 1) that run collectives together over PyTorch's c10d:
/// a TCPStore at the master's address for the rendezvous, ProcessGroupGloo for the collectives on CPU tensors.
/// Every rank must issue the same collectives in the same order with tensors of the same shape and dtype.
/// Collectives work in place on contiguous CPU tensors and block until done; a failure (a peer gone, a timeout) is a
/// <see cref="DistributedException"/>, after which the group is unusable: dispose it and stop.
/// Made by <c>torch.distributed.init_process_group</c> or <c>new_group</c>.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    private readonly ProcessGroupHandle handle;

    internal ProcessGroup(IntPtr raw, string backend, int rank, int worldSize, string masterAddr, int masterPort, TimeSpan timeout)
    {
        handle = new ProcessGroupHandle(raw);
        this.backend = backend;
        this.rank = rank;
        world_size = worldSize;
        MasterAddr = masterAddr;
        MasterPort = masterPort;
        Timeout = timeout;
    }

    public string backend { get; }
    public int rank { get; }
    public int world_size { get; }
    public string MasterAddr { get; }
    public int MasterPort { get; }

    /// <summary>The longest a collective waits for its peers before failing.</summary>
    public TimeSpan Timeout { get; }

    private ProcessGroupHandle Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            return handle;
        }
    }

    /// <summary>The element types gloo's collectives take in libtorch 1.13 (no bool, int16 or bfloat16: cast first).</summary>
    public static readonly IReadOnlySet<ScalarType> SupportedDtypes = new HashSet<ScalarType>
    {
        ScalarType.UInt8, ScalarType.Int8, ScalarType.Int32, ScalarType.Int64, ScalarType.Float16, ScalarType.Float32, ScalarType.Float64,
    };

    /// <summary>Replaces <paramref name="tensor"/> on every rank by the reduction of all ranks' tensors.</summary>
    public void all_reduce(Tensor tensor, ReduceOp op = ReduceOp.SUM)
    {
        var what = $"all_reduce({op}, {tensor.Describe()})";
        Supported(tensor, what);
        Check(dt_pg_all_reduce(Live, tensor.Handle, (int)op), what);
    }

    /// <summary>Copies <paramref name="tensor"/> of rank <paramref name="src"/> into every rank's <paramref name="tensor"/>.</summary>
    public void broadcast(Tensor tensor, int src = 0)
    {
        var what = $"broadcast(src={src}, {tensor.Describe()})";
        Supported(tensor, what);
        if (src < 0 || src >= world_size) throw new ArgumentException($"{what}: source rank {src} is outside 0..{world_size - 1}");
        Check(dt_pg_broadcast(Live, tensor.Handle, src), what);
    }

    private static void Supported(Tensor tensor, string what)
    {
        if (!SupportedDtypes.Contains(tensor.dtype))
            throw new ArgumentException($"{what}: gloo does not reduce {tensor.dtype.Name()} tensors; cast to one of {string.Join(", ", SupportedDtypes.Select(d => d.Name()))}");
        if (tensor.device.Type != DeviceType.CPU) throw new ArgumentException($"{what}: the gloo backend takes CPU tensors");
        if (!tensor.is_contiguous()) throw new ArgumentException($"{what}: the tensor must be contiguous (call .contiguous() and copy back)");
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void barrier() => Check(dt_pg_barrier(Live), "barrier");

    public void Dispose() => handle.Dispose();

    public override string ToString() => $"{backend} rank {rank} of {world_size} at {MasterAddr}:{MasterPort}";

    private void Check(int status, string op)
    {
        if (status == 0) return;
        var reason = Marshal.PtrToStringUTF8(dt_last_error()) ?? "";
        throw new DistributedException($"rank {rank} of {world_size}: {op} failed: {FirstLine(reason)} " +
            $"(a peer process has exited or stopped answering within {Timeout.TotalSeconds:0.#} s; see the other ranks' output)");
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 0 ? line : message.Trim();
    }
}
