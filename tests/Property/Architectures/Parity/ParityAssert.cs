using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// The parity criterion, per element: |ours − theirs| ≤ 1e-5 · (|theirs| + rms(theirs)), rms over the whole output.
/// The rms term keeps elements near zero (where a pure relative error is meaningless) to an absolute bound of
/// 1e-5 of the output's scale; elsewhere it is a relative bound of at most 1e-5 (float32 rounding through a deep net).
/// Each case reports max |ours − theirs| / (|theirs| + rms(theirs)).
/// </summary>
public static class ParityAssert
{
    public const double Tolerance = Diffusion.Tests.RelativeError.Tolerance;

    public static double MaxRelativeError(float[] ours, float[] theirs)
    {
        Assert.Equal(theirs.Length, ours.Length);
        return Diffusion.Tests.RelativeError.Max(ours, theirs);
    }

    /// <summary>Fails with the case's own error if either side failed, else compares every element.</summary>
    public static void Close(string name, ParityResult r, ITestOutputHelper output)
    {
        Assert.True(r.Error is null, $"{name}: {r.Error}");
        Assert.True(r.Theirs.Length > 0, $"{name}: the reference returned nothing");
        var worst = MaxRelativeError(r.Ours, r.Theirs);
        output.WriteLine($"{name}: max |ours - theirs| / (|theirs| + rms(theirs)) = {worst:E3} over {r.Ours.Length} elements");
        Console.WriteLine($"[parity] {name}: max rel err {worst:E3} ({r.Ours.Length} elements)");
        Assert.True(worst <= Tolerance, $"{name}: max |ours - theirs| / (|theirs| + rms) = {worst:E3} > {Tolerance:E0}");
    }
}
