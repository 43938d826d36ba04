using System.Runtime.InteropServices;

namespace Diffusion.Torch.Native;

/// <summary>Owns one native object; releasing the handle calls the shim's matching free exactly once.</summary>
internal abstract class NativeHandle : SafeHandle
{
    protected NativeHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected abstract void Free(IntPtr native);

    protected override bool ReleaseHandle()
    {
        Free(handle);
        return true;
    }
}

/// <summary>Owns one native <c>at::Tensor*</c>; releasing it drops a libtorch reference.</summary>
internal sealed class TensorHandle(IntPtr handle) : NativeHandle(handle)
{
    protected override void Free(IntPtr native) => NativeMethods.dt_free(native);
}

/// <summary>Owns one native <c>at::Generator*</c>.</summary>
internal sealed class GeneratorHandle(IntPtr handle) : NativeHandle(handle)
{
    protected override void Free(IntPtr native) => NativeMethods.dt_generator_free(native);
}

/// <summary>Owns one native process group (a c10d TCPStore and ProcessGroupGloo); releasing it closes its connections.</summary>
internal sealed class ProcessGroupHandle(IntPtr handle) : NativeHandle(handle)
{
    protected override void Free(IntPtr native) => NativeMethods.dt_pg_free(native);
}
