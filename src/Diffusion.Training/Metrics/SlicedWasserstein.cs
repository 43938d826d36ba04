using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>
/// Sliced Wasserstein distance (Rabin et al. 2011; Bonneel et al. 2015):
/// SW_p(a, b) = (E_θ W_p^p(θᵀa, θᵀb))^{1/p} over directions θ uniform on the unit sphere,
/// estimated with <c>projections</c> random directions. The default is p = 2; p = 1 gives the
/// plain mean of the 1-D W₁ distances (mean absolute difference of sorted projections).
/// Each 1-D term is computed exactly between the two empirical measures as
/// ∫₀¹ |F_a⁻¹(u) − F_b⁻¹(u)|^p du: with equal sizes that is the mean of |Δ|^p over the sorted
/// projections; unequal sizes need no resampling (the quantile functions are step functions,
/// integrated piece by piece over the merged breakpoints i/Na and j/Nb).
/// Calibration (moons, two independent samples of 10,000 points, 128 directions):
/// SW₂ ≈ 0.012, SW₁ ≈ 0.009; at 2,000 points SW₂ ≈ 0.030; at 50,000 SW₂ ≈ 0.006.
/// </summary>
public static class SlicedWasserstein
{
    /// <summary>
    /// SW_p between point sets a (Na, D…) and b (Nb, D…) — trailing dims are flattened — with
    /// <paramref name="projections"/> directions drawn from <paramref name="g"/>; p is 1 or 2.
    /// </summary>
    public static double Distance(Tensor a, Tensor b, int projections, Generator g, int p = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(projections, 1);
        if (p is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(p), p, "order p must be 1 or 2");
        if (a.dim() < 2 || b.dim() < 2) throw new ArgumentException($"point sets must be (N, D…), got {a.Describe()} and {b.Describe()}");
        using var scope = torch.NewDisposeScope();
        var xa = a.detach().flatten(1).to(Device.CPU, ScalarType.Float64); // (Na, D)
        var xb = b.detach().flatten(1).to(Device.CPU, ScalarType.Float64); // (Nb, D)
        var d = xa.size(1);
        if (xb.size(1) != d) throw new ArgumentException($"point sets differ in dimension: {a.Describe()} vs {b.Describe()}");
        if (xa.size(0) == 0 || xb.size(0) == 0) throw new ArgumentException("point sets must not be empty");
        var directions = torch.randn([projections, d], g, ScalarType.Float64); // (P, D)
        directions = directions.div(directions.norm([1], keepdim: true)); // unit rows
        var pa = directions.matmul(xa.T).contiguous().ToArray<double>(); // (P, Na) row-major
        var pb = directions.matmul(xb.T).contiguous().ToArray<double>(); // (P, Nb)
        int na = (int)xa.size(0), nb = (int)xb.size(0);
        var terms = new double[projections];
        Parallel.For(0, projections, k =>
        {
            var sa = pa.AsSpan(k * na, na);
            var sb = pb.AsSpan(k * nb, nb);
            sa.Sort();
            sb.Sort();
            terms[k] = PowerSorted(sa, sb, p);
        });
        var mean = terms.Average();
        return p == 1 ? mean : Math.Sqrt(mean);
    }

    /// <summary>Same, with directions from a fresh generator seeded with <paramref name="seed"/>.</summary>
    public static double Distance(Tensor a, Tensor b, int projections = 128, ulong seed = 0, int p = 2)
    {
        using var g = new Generator(seed);
        return Distance(a, b, projections, g, p);
    }

    /// <summary>Exact 1-D W₁ between two empirical measures given sorted samples.</summary>
    public static double W1Sorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => PowerSorted(a, b, 1);

    /// <summary>Exact 1-D W₂ between two empirical measures given sorted samples.</summary>
    public static double W2Sorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => Math.Sqrt(PowerSorted(a, b, 2));

    /// <summary>
    /// ∫₀¹ |F_a⁻¹(u) − F_b⁻¹(u)|^p du for sorted samples, integrated over the merged breakpoints.
    /// </summary>
    private static double PowerSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int p)
    {
        if (a.Length == b.Length)
        {
            var s = 0.0;
            for (var k = 0; k < a.Length; k++) s += Power(a[k] - b[k], p);
            return s / a.Length;
        }
        double na = a.Length, nb = b.Length, u = 0, total = 0;
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            var next = Math.Min((i + 1) / na, (j + 1) / nb);
            total += (next - u) * Power(a[i] - b[j], p);
            u = next;
            // Advance whichever step ends here (both when they end together); compare in
            // integers so float rounding never skips a step.
            var endA = (long)(i + 1) * b.Length <= (long)(j + 1) * a.Length;
            var endB = (long)(j + 1) * a.Length <= (long)(i + 1) * b.Length;
            if (endA) i++;
            if (endB) j++;
        }
        return total;
    }

    private static double Power(double x, int p) => p == 1 ? Math.Abs(x) : x * x;
}
