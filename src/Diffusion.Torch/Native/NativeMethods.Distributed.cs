using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

internal static partial class NativeMethods
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int dt_pg_new(string master, int port, int rank, int size, long rendezvousMs, long collectiveMs, out IntPtr group);
    [LibraryImport(Lib)] internal static partial void dt_pg_free(IntPtr group);
    [LibraryImport(Lib)] internal static partial int dt_pg_all_reduce(ProcessGroupHandle group, TensorHandle t, int op);
    [LibraryImport(Lib)] internal static partial int dt_pg_broadcast(ProcessGroupHandle group, TensorHandle t, int root);
    [LibraryImport(Lib)] internal static partial int dt_pg_barrier(ProcessGroupHandle group);
    [LibraryImport(Lib)] internal static partial int dt_pg_available(out int available);
}
