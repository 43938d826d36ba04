namespace Diffusion.Training.Names;

/// <summary>
/// A name not in a <see cref="NameList{T}"/>, read from <see cref="Where"/>: a command-line flag ("--sampler") or a JSON
/// path ("training.json $.sde"). The CLI reports one read from a flag as a usage error (exit 2), like any bad flag value.
/// </summary>
public sealed class UnknownNameException(string message, string where) : ArgumentException(message)
{
    public string Where { get; } = where;

    /// <summary>Whether the name came from a command-line flag.</summary>
    public bool FromFlag => Where.StartsWith("--", StringComparison.Ordinal);
}
