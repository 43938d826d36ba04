using System.Text.RegularExpressions;

namespace Diffusion.Torch;

/// <summary>
/// The native shim was found but could not be loaded because a libtorch library it links to (libtorch, libtorch_cpu,
/// libc10) is not on this system. The message names the Debian package to install.
/// </summary>
public sealed partial class LibTorchNotFoundException : DllNotFoundException
{
    /// <summary>The Debian 12 package holding the libtorch runtime libraries the shim links to (libtorch-dev depends on it).</summary>
    public const string AptPackage = "libtorch1.13";

    internal LibTorchNotFoundException(string missingLibrary, Exception inner)
        : base($"libtorch is not installed: sudo apt-get install {AptPackage} (Debian 12's libtorch runtime; libtorch-dev brings it too). "
               + $"The native shim libdiffusion_native.so needs {missingLibrary}, which the dynamic loader did not find. "
               + "A shim built against another libtorch (LIBTORCH=…) needs that libtorch's lib folder on LD_LIBRARY_PATH.", inner)
    {
        MissingLibraryName = missingLibrary;
    }

    /// <summary>The file the loader could not open, e.g. <c>libtorch_cpu.so.1.13</c>.</summary>
    public string MissingLibraryName { get; }

    // glibc's dlerror for a missing dependency: "<path of the shim>: libc10.so.1.13: cannot open shared object file: …".
    // The runtime's DllNotFoundException message carries one such line per path it probed.
    [GeneratedRegex(@"\b(lib(?:torch|torch_cpu|torch_cuda|c10|c10_cuda)\.so[\w.]*): cannot open shared object file")]
    private static partial Regex MissingTorchPattern();

    /// <summary>The libtorch library a load failure's message says is missing, or null when it is some other failure.</summary>
    internal static string? MissingLibrary(string loadError) =>
        MissingTorchPattern().Match(loadError) is { Success: true } m ? m.Groups[1].Value : null;
}
