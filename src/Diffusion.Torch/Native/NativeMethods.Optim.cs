using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

// native/src/optim.cpp. Tensor lists travel as raw handles kept alive by TensorHandleList;
// state arrays are in/out: the shim fills null slots with new handles that the caller then owns.
internal static partial class NativeMethods
{
    [LibraryImport(Lib)] internal static unsafe partial int dt_sgd_step(IntPtr* parameters, IntPtr* momentumBuffers, int n, double lr, double momentum, double dampening, double weightDecay, int nesterov, int maximize);
    [LibraryImport(Lib)] internal static unsafe partial int dt_adam_step(IntPtr* parameters, IntPtr* expAvgs, IntPtr* expAvgSqs, IntPtr* maxExpAvgSqs, long* steps, int n, double lr, double beta1, double beta2, double eps, double weightDecay, int amsgrad, int maximize, int decoupled, int fused);
    [LibraryImport(Lib)] internal static unsafe partial int dt_clear_grads(IntPtr* parameters, int n);
}
