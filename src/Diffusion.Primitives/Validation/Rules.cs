using LanguageExt;
using static LanguageExt.Prelude;

namespace Diffusion.Primitives;

/// <summary>
/// Validation helpers. A config is checked once, into a plan, and every problem is reported with
/// its path, e.g. <c>unet.down[2].res[0].norm: groups=32 does not divide channels=48</c>.
/// Rules return a <see cref="Seq{A}"/> of problems so that independent checks concatenate.
/// </summary>
public static class Rules
{
    /// <summary>One problem at <paramref name="path"/> unless <paramref name="ok"/>.</summary>
    public static Seq<string> Require(bool ok, string path, string message) =>
        ok ? Seq<string>() : Seq1(path.Length == 0 ? message : $"{path}: {message}");

    /// <summary>A positive integer field, e.g. <c>channels=0 must be positive</c>.</summary>
    public static Seq<string> Positive(long value, string path, string field) =>
        Require(value > 0, path, $"{field}={value} must be positive");

    /// <summary>
    /// The problems of every item, in order. Strict on purpose: LanguageExt 3.4.13 can drop or repeat
    /// entries when a lazily bound Seq is concatenated with <c>+</c>, so lists are materialised here.
    /// </summary>
    public static Seq<string> Each<T>(IEnumerable<T> items, Func<T, Seq<string>> problems) =>
        items.SelectMany<T, string>(x => problems(x)).ToArray().ToSeq();

    /// <summary>Joins a parent path and a child name: <c>Child("down[2]", "res[0]")</c> → <c>down[2].res[0]</c>.</summary>
    public static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>The plan built by <paramref name="make"/> when there are no problems, otherwise all of them.</summary>
    public static Validation<string, T> Build<T>(Seq<string> problems, Func<T> make) =>
        problems.IsEmpty ? Success<string, T>(make()) : Validation<string, T>.Fail(problems);

    /// <summary>The problems of a validation (empty when it succeeded).</summary>
    public static Seq<string> Problems<T>(this Validation<string, T> v) => v.Match(Succ: _ => Seq<string>(), Fail: e => e);

    /// <summary>The value, or a <see cref="ConfigException"/> listing every problem.</summary>
    public static T OrThrow<T>(this Validation<string, T> v) => v.Match(Succ: x => x, Fail: e => throw new ConfigException(e));
}

/// <summary>An invalid configuration: every problem found, each naming its path, field and rule.</summary>
public sealed class ConfigException(Seq<string> problems)
    : Exception($"invalid configuration ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n  " + string.Join("\n  ", problems))
{
    public Seq<string> Problems { get; } = problems;
}

/// <summary>An input whose rank or shape does not match the plan, named by block path.</summary>
public sealed class ShapeException(string path, string expected, long[] actual)
    : Exception($"{(path.Length == 0 ? "input" : path)}: expected {expected}, got [{string.Join(", ", actual)}]");
