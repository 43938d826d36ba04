using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Diffusion.Torch.Native;

// The shim is found by the runtime's ordinary probing, wherever it was put: beside the assemblies (the repo build
// copies it there), or under runtimes/<rid>/native/ of a restored package or an installed tool (deps.json lists it,
// and the host adds that folder to the native search path). This resolver changes none of that; it exists so that
// the commonest failure — the shim is there but the system has no libtorch — is one sentence naming the apt package,
// not a DllNotFoundException listing every probed path.
internal static partial class NativeMethods
{
    // An explicit static constructor makes the class not beforefieldinit, so it runs before the first call of any of
    // the P/Invoke stubs (all of which live in this class) and the resolver is in place before the shim is loaded.
    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, NativeLibraryLoader.Resolve);
}

internal static partial class NativeLibraryLoader
{
    [ThreadStatic] private static bool resolving;

    internal static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Only the shim; and if the runtime calls back while we load it ourselves, let its default probing answer.
        if (name != NativeMethods.Lib || resolving) return IntPtr.Zero;
        resolving = true;
        try
        {
            return NativeLibrary.Load(name, assembly, searchPath);
        }
        catch (DllNotFoundException e) when (LibTorchNotFoundException.MissingLibrary(e.Message) is { } missing)
        {
            throw new LibTorchNotFoundException(missing, e);
        }
        finally
        {
            resolving = false;
        }
    }
}
