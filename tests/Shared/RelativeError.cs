namespace Diffusion.Tests;

/// <summary>
/// The parity criterion shared by the parity and import tests, per element: |ours − theirs| ≤ tol · (|theirs| + rms(theirs)),
/// rms over the whole output (the rms term bounds elements near zero by tol of the output's scale).
/// </summary>
public static class RelativeError
{
    public const double Tolerance = 1e-5;

    /// <summary>max |ours − theirs| / (|theirs| + rms(theirs)); NaN when any element is NaN. The lengths must agree.</summary>
    public static double Max(float[] ours, float[] theirs)
    {
        if (ours.Length != theirs.Length) throw new ArgumentException($"{ours.Length} elements against {theirs.Length}");
        var rms = Math.Sqrt(theirs.Sum(v => (double)v * v) / Math.Max(1, theirs.Length));
        var worst = 0.0;
        for (var i = 0; i < ours.Length; i++)
        {
            var e = Math.Abs((double)ours[i] - theirs[i]) / (Math.Abs((double)theirs[i]) + rms);
            if (double.IsNaN(e)) return double.NaN;
            worst = Math.Max(worst, e);
        }
        return worst;
    }
}
