using System.Net;
using System.Net.Sockets;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

public static partial class torch
{
    /// <summary>
    /// Data-parallel collectives across processes, named as PyTorch's <c>torch.distributed</c>: <c>init_process_group</c>
    /// makes a <see cref="ProcessGroup"/> (and remembers it as the default group the free functions use),
    /// <c>destroy_process_group</c> closes it. Backend <c>gloo</c> (CPU tensors); <c>nccl</c> is refused with the reason.
    /// </summary>
    public static class distributed
    {
        /// <summary>The collective timeout when none is given (PyTorch's is 30 min; a stuck peer should fail sooner).</summary>
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

        /// <summary>How long ranks wait for each other to join when none is given (workers may take a while to start).</summary>
        public static readonly TimeSpan DefaultRendezvousTimeout = TimeSpan.FromSeconds(120);

        public static readonly IReadOnlyList<string> Backends = ["gloo", "nccl"];

        /// <summary>How <see cref="ProcessGroup.all_reduce"/> combines the ranks' tensors (PyTorch's <c>torch.distributed.ReduceOp</c>).</summary>
        public enum ReduceOp
        {
            SUM = 0,
            /// <summary>The sum divided by the world size (floor division for integer tensors).</summary>
            AVG = 1,
            MAX = 2,
            MIN = 3,
            PRODUCT = 4,
        }

        private static ProcessGroup? defaultGroup;

        /// <summary>Whether this build of the native shim has the gloo backend (it needs libgloo-dev at build time).</summary>
        public static bool is_available()
        {
            Tensor.Check(dt_pg_available(out var a), "distributed.is_available");
            return a != 0;
        }

        public static bool is_initialized() => defaultGroup is not null;

        /// <summary>
        /// Joins the group: rank 0 serves the rendezvous at <paramref name="master_addr"/>:<paramref name="master_port"/> and
        /// waits for the others (up to <paramref name="rendezvous_timeout"/>); every collective then fails after
        /// <paramref name="timeout"/> without its peers. Arguments left null come from the environment
        /// (<see cref="DistributedEnvironment"/>: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
        /// </summary>
        public static ProcessGroup init_process_group(string backend = "gloo", int? rank = null, int? world_size = null,
            string? master_addr = null, int? master_port = null, TimeSpan? timeout = null, TimeSpan? rendezvous_timeout = null)
        {
            if (defaultGroup is not null) throw new InvalidOperationException($"init_process_group: this process already belongs to {defaultGroup}; call destroy_process_group first");
            var group = new_group(backend, rank, world_size, master_addr, master_port, timeout, rendezvous_timeout);
            defaultGroup = group;
            return group;
        }

        /// <summary><see cref="init_process_group"/> without making the group the default one (a library's own loop).</summary>
        public static ProcessGroup new_group(string backend = "gloo", int? rank = null, int? world_size = null,
            string? master_addr = null, int? master_port = null, TimeSpan? timeout = null, TimeSpan? rendezvous_timeout = null)
        {
            CheckBackend(backend);
            DistributedEnvironment? env = null;
            if (rank is null || world_size is null || master_addr is null || master_port is null)
                env = DistributedEnvironment.FromEnvironment() ?? throw new ArgumentException(
                    $"init_process_group: rank, world_size, master_addr and master_port must be given, or set in {DistributedEnvironment.WorldSizeVar}, {DistributedEnvironment.RankVar}, {DistributedEnvironment.MasterAddrVar} and {DistributedEnvironment.MasterPortVar}");
            var r = rank ?? env!.Rank;
            var size = world_size ?? env!.WorldSize;
            var addr = master_addr ?? env!.MasterAddr;
            var port = master_port ?? env!.MasterPort;
            var collective = timeout ?? DefaultTimeout;
            var rendezvous = rendezvous_timeout ?? DefaultRendezvousTimeout;
            if (size < 1 || r < 0 || r >= size) throw new ArgumentException($"init_process_group: rank {r} is outside 0..{size - 1} (world_size {size})");
            if (port is < 1 or > 65535) throw new ArgumentException($"init_process_group: master_port {port} is outside 1..65535");
            if (collective <= TimeSpan.Zero || rendezvous <= TimeSpan.Zero) throw new ArgumentException("init_process_group: timeouts must be positive");
            if (!is_available()) throw new DistributedException("init_process_group: this build of the native shim has no gloo backend: install Debian's libgloo-dev and rebuild (dotnet build)");
            if (dt_pg_new(addr, port, r, size, (long)rendezvous.TotalMilliseconds, (long)collective.TotalMilliseconds, out var raw) != 0)
            {
                var reason = ProcessGroup.FirstLine(System.Runtime.InteropServices.Marshal.PtrToStringUTF8(dt_last_error()) ?? "");
                throw new DistributedException($"rank {r} of {size}: rendezvous at {addr}:{port} failed within {rendezvous.TotalSeconds:0.#} s: {reason} " +
                    "(are all ranks started, with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE, and is the port free on rank 0's machine?)");
            }
            return new ProcessGroup(raw, backend, r, size, addr, port, collective);
        }

        private static void CheckBackend(string backend)
        {
            if (backend == "gloo") return;
            if (backend == "nccl")
                throw new ArgumentException(cuda.is_available()
                    ? "backend 'nccl': this binding implements the gloo backend only; use backend 'gloo'"
                    : $"backend 'nccl' needs a libtorch built with CUDA and a GPU; this libtorch ({version}) has no CUDA: use backend 'gloo'");
            throw new ArgumentException($"unknown backend '{backend}': expected one of {string.Join(", ", Backends)}");
        }

        private static ProcessGroup Group(ProcessGroup? group) =>
            group ?? defaultGroup ?? throw new InvalidOperationException("no process group: call torch.distributed.init_process_group first");

        public static int get_rank(ProcessGroup? group = null) => Group(group).rank;

        public static int get_world_size(ProcessGroup? group = null) => Group(group).world_size;

        public static void all_reduce(Tensor tensor, ReduceOp op = ReduceOp.SUM, ProcessGroup? group = null) => Group(group).all_reduce(tensor, op);

        public static void broadcast(Tensor tensor, int src, ProcessGroup? group = null) => Group(group).broadcast(tensor, src);

        public static void barrier(ProcessGroup? group = null) => Group(group).barrier();

        /// <summary>Closes <paramref name="group"/> (default: the default group, which is then forgotten).</summary>
        public static void destroy_process_group(ProcessGroup? group = null)
        {
            var g = Group(group);
            if (ReferenceEquals(g, defaultGroup)) defaultGroup = null;
            g.Dispose();
        }

        /// <summary>A TCP port nobody listens on now on <paramref name="address"/> (for a launcher's MASTER_PORT; another process may still take it).</summary>
        public static int free_port(string address = "127.0.0.1")
        {
            using var listener = new TcpListener(IPAddress.Parse(address), 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
