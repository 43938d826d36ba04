using Xunit;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>Why a parity test cannot run here (null when it can): Debian's python3 with python3-torch is needed.</summary>
internal static class PythonTorch
{
    public const string Python = "/usr/bin/python3";

    public static string? Missing =>
        !File.Exists(Python) ? $"{Python} is not installed"
        : !Directory.Exists("/usr/lib/python3/dist-packages/torch") ? "python3-torch is not installed"
        : null;
}

/// <summary>A fact that runs the official code under Debian's python3-torch; reported skipped (not passed) where it is absent.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.Missing is { } why) Skip = why;
    }
}

/// <summary>The theory form of <see cref="PythonTorchFactAttribute"/>.</summary>
public sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    public PythonTorchTheoryAttribute()
    {
        if (PythonTorch.Missing is { } why) Skip = why;
    }
}
