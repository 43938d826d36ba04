using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary>
/// Which load failures count as "libtorch is not installed". The whole path (a real shim whose libtorch is missing,
/// run as the installed tool) is tests/Packaging's; here the classification, so other failures keep their own message.
/// </summary>
public class NativeLoadErrorTests
{
    // The shape of .NET's DllNotFoundException message on Linux: one dlerror line per probed path.
    private const string Header = "Unable to load shared library 'diffusion_native' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace.\n";

    [Theory]
    [InlineData("/app/runtimes/linux-x64/native/libdiffusion_native.so: libc10.so.1.13: cannot open shared object file: No such file or directory", "libc10.so.1.13")]
    [InlineData("/app/libdiffusion_native.so: libtorch_cpu.so.1.13: cannot open shared object file: No such file or directory", "libtorch_cpu.so.1.13")]
    [InlineData("/app/libdiffusion_native.so: libtorch.so: cannot open shared object file: No such file or directory", "libtorch.so")]
    public void A_missing_libtorch_library_is_named(string dlerror, string missing)
    {
        var message = Header + "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/diffusion_native.so: cannot open shared object file: No such file or directory\n" + dlerror;
        Assert.Equal(missing, LibTorchNotFoundException.MissingLibrary(message));
    }

    [Theory]
    // The shim itself is absent: not a libtorch problem, whatever else the message says.
    [InlineData("/app/libdiffusion_native.so: cannot open shared object file: No such file or directory")]
    // libtorch is there but broken or for another ABI: installing the package again would not be the answer.
    [InlineData("/app/libdiffusion_native.so: undefined symbol: _ZN3c104impl8GPUTrace9haveStateE")]
    [InlineData("/app/libdiffusion_native.so: libopenblas.so.0: cannot open shared object file: No such file or directory")]
    public void Other_load_failures_are_left_alone(string dlerror)
    {
        Assert.Null(LibTorchNotFoundException.MissingLibrary(Header + dlerror));
    }

    [Fact]
    public void The_message_names_the_apt_package_and_the_missing_file()
    {
        var e = new LibTorchNotFoundException("libc10.so.1.13", new DllNotFoundException("raw"));
        Assert.StartsWith("libtorch is not installed: sudo apt-get install libtorch1.13 ", e.Message);
        Assert.Contains("libc10.so.1.13", e.Message);
        Assert.IsAssignableFrom<DllNotFoundException>(e);
    }
}
