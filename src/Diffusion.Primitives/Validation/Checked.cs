namespace Diffusion.Primitives;

/// <summary>
/// A value built from a config, or every problem that stopped it, each naming its path
/// (<c>unet.down_blocks.2.resnets.0: groups=32 does not divide in_channels=48</c>). Plans compose applicatively:
/// <see cref="Checked.Of{T}(IEnumerable{string}, Func{T})"/> and its overloads collect a parent's own problems together
/// with every child's and build the parent only when there are none, so nothing is checked twice and nothing is lost.
/// <para>
/// Why not LanguageExt's <c>Validation</c>: this is all of it we used, and LanguageExt 3.4's lazily bound <c>Seq</c>
/// dropped or repeated problems when concatenated, which the plans had to work around. Forty lines of our own
/// have no such corner.
/// </para>
/// </summary>
public sealed class Checked<T>
{
    private readonly T? value;

    internal Checked(T? value, IReadOnlyList<string> problems) => (this.value, Problems) = (value, problems);

    /// <summary>Every problem found (empty when the value was built).</summary>
    public IReadOnlyList<string> Problems { get; }

    public bool IsValid => Problems.Count == 0;

    /// <summary>The value, or a <see cref="ConfigException"/> listing every problem.</summary>
    public T OrThrow() => IsValid ? value! : throw new ConfigException(Problems);

    public Checked<R> Map<R>(Func<T, R> f) => IsValid ? new(f(value!), []) : new(default, Problems);
}

public static class Checked
{
    /// <summary>Built by <paramref name="make"/> when <paramref name="problems"/> is empty; otherwise those problems.</summary>
    public static Checked<T> Of<T>(IEnumerable<string> problems, Func<T> make)
    {
        var all = problems.ToArray();
        return all.Length == 0 ? new(make(), []) : new(default, all);
    }

    /// <summary>
    /// Problems that leave no sound skeleton to plan children on (a negative layer count, an invalid size): reported alone,
    /// since every child would only repeat them.
    /// </summary>
    public static Checked<T> Fail<T>(IEnumerable<string> problems) => new(default, problems.ToArray());

    /// <summary>A parent from its own problems and one child: built only when neither has problems.</summary>
    public static Checked<T> Of<A, T>(IEnumerable<string> own, Checked<A> a, Func<A, T> make) =>
        Of([.. own, .. a.Problems], () => make(a.OrThrow()));

    public static Checked<T> Of<A, B, T>(IEnumerable<string> own, Checked<A> a, Checked<B> b, Func<A, B, T> make) =>
        Of([.. own, .. a.Problems, .. b.Problems], () => make(a.OrThrow(), b.OrThrow()));

    public static Checked<T> Of<A, B, C, T>(IEnumerable<string> own, Checked<A> a, Checked<B> b, Checked<C> c, Func<A, B, C, T> make) =>
        Of([.. own, .. a.Problems, .. b.Problems, .. c.Problems], () => make(a.OrThrow(), b.OrThrow(), c.OrThrow()));

    public static Checked<T> Of<A, B, C, D, T>(IEnumerable<string> own, Checked<A> a, Checked<B> b, Checked<C> c, Checked<D> d,
        Func<A, B, C, D, T> make) =>
        Of([.. own, .. a.Problems, .. b.Problems, .. c.Problems, .. d.Problems], () => make(a.OrThrow(), b.OrThrow(), c.OrThrow(), d.OrThrow()));

    /// <summary>Every item's value in order, or the problems of all of them.</summary>
    public static Checked<IReadOnlyList<T>> All<T>(this IEnumerable<Checked<T>> items)
    {
        var list = items.ToList();
        return Of(list.SelectMany(i => i.Problems), () => (IReadOnlyList<T>)list.Select(i => i.OrThrow()).ToList());
    }

    /// <summary>An optional child: planned when <paramref name="present"/>, else a valid null.</summary>
    public static Checked<T?> Optional<T>(bool present, Func<Checked<T>> plan) where T : class =>
        present ? plan().Map(v => (T?)v) : new(null, []);
}
