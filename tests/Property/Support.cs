using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace Diffusion.Property.Tests;

/// <summary>Runs an FsCheck property over generated cases; each case runs in its own dispose scope.</summary>
public static class Law
{
    public static void Holds<T>(Gen<T> gen, Func<T, bool> property, int cases = 300) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases), Prop.ForAll(gen.ToArbitrary(), (T x) =>
        {
            using var scope = torch.NewDisposeScope();
            return property(x);
        }));

    /// <summary>Uniform reals on [lo, hi] (FsCheck's own doubles include NaN and ±∞, which these laws exclude).</summary>
    public static Gen<double> Real(double lo, double hi) => Gen.Choose(0, 1_000_000).Select(i => lo + (hi - lo) * i / 1e6);

    public static Gen<ulong> Seed => Gen.Choose(0, int.MaxValue).Select(i => (ulong)i);

    public static Tensor Vector(double[] xs) => torch.tensor(xs.Select(v => (float)v).ToArray());

    public static double Max(Tensor t) => t.abs().max().item<double>();
}
