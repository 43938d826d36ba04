using Xunit;

namespace Diffusion.Tests;

// xunit 2 has no dynamic skip and the mirror serves no skip helper package, so a test that needs something
// from the machine says so with one of these attributes: the attribute sets Skip at discovery, and the runner
// reports the test as SKIPPED with the reason instead of counting an early `return` as a pass.
// Linked into each test project that needs it (see the csproj files); NoEarlyReturnTests keeps it the only way.

/// <summary>Why a test cannot run on this machine; null when it can.</summary>
public static class Preconditions
{
    public const string Python = "/usr/bin/python3";
    public const string PythonTorchPackage = "/usr/lib/python3/dist-packages/torch";

    // bootstrap.sh installs python3 and python3-torch for `test`, so CI never skips these.
    public static string? Python3Missing =>
        File.Exists(Python) ? null : $"{Python} is not installed (sudo apt-get install python3; ./bootstrap.sh test installs it)";

    public static string? PythonTorchMissing =>
        Python3Missing ?? (Directory.Exists(PythonTorchPackage) ? null
            : "python3-torch is not installed (sudo apt-get install python3-torch; ./bootstrap.sh test installs it)");
}

/// <summary>A fact that runs Debian's python3.</summary>
public sealed class Python3FactAttribute : FactAttribute
{
    public Python3FactAttribute() => Skip = Preconditions.Python3Missing;
}

/// <summary>A fact that runs Debian's python3 with torch.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute() => Skip = Preconditions.PythonTorchMissing;
}

/// <summary>The theory form of <see cref="PythonTorchFactAttribute"/> (the parity tests run one case per official model).</summary>
public sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    public PythonTorchTheoryAttribute() => Skip = Preconditions.PythonTorchMissing;
}
