using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>
/// Sliced 1-Wasserstein distance (Rabin et al. 2011; Bonneel et al. 2015):
/// SW₁(a, b) = E_θ W₁(θᵀa, θᵀb) over directions θ uniform on the unit sphere, estimated with
/// <c>projections</c> random directions. Each 1-D W₁ is computed exactly between the two
/// empirical measures as ∫₀¹ |F_a⁻¹(u) − F_b⁻¹(u)| du; with equal sizes that is the mean absolute
/// difference of the sorted projections, and unequal sizes need no resampling (the quantile
/// functions are step functions, integrated piece by piece).
/// Scale: for the moons set, two independent samples of 10,000 points give ≈ 0.01 with 128 directions.
/// </summary>
public static class SlicedWasserstein
{
    /// <summary>
    /// SW₁ between point sets a (Na, D…) and b (Nb, D…) — trailing dims are flattened — with
    /// <paramref name="projections"/> directions drawn from <paramref name="g"/>.
    /// </summary>
    public static double Distance(Tensor a, Tensor b, int projections, Generator g)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(projections, 1);
        if (a.dim() < 2 || b.dim() < 2) throw new ArgumentException($"point sets must be (N, D…), got {a.Describe()} and {b.Describe()}");
        using var scope = torch.NewDisposeScope();
        var xa = a.detach().flatten(1).to(Device.CPU, ScalarType.Float64); // (Na, D)
        var xb = b.detach().flatten(1).to(Device.CPU, ScalarType.Float64); // (Nb, D)
        var d = xa.size(1);
        if (xb.size(1) != d) throw new ArgumentException($"point sets differ in dimension: {a.Describe()} vs {b.Describe()}");
        if (xa.size(0) == 0 || xb.size(0) == 0) throw new ArgumentException("point sets must not be empty");
        var directions = torch.randn([projections, d], g, ScalarType.Float64); // (P, D)
        directions = directions.div(directions.norm([1], keepdim: true)); // unit rows
        var pa = ColumnsSorted(xa.matmul(directions.T)); // P arrays of Na
        var pb = ColumnsSorted(xb.matmul(directions.T)); // P arrays of Nb
        var total = 0.0;
        for (var p = 0; p < projections; p++) total += W1Sorted(pa[p], pb[p]);
        return total / projections;
    }

    /// <summary>Same, with directions from a fresh generator seeded with <paramref name="seed"/>.</summary>
    public static double Distance(Tensor a, Tensor b, int projections = 128, ulong seed = 0)
    {
        using var g = new Generator(seed);
        return Distance(a, b, projections, g);
    }

    /// <summary>
    /// Exact W₁ between two 1-D empirical measures given sorted samples: integrates
    /// |F_a⁻¹(u) − F_b⁻¹(u)| over the merged breakpoints i/Na and j/Nb.
    /// </summary>
    public static double W1Sorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length == b.Length)
        {
            var s = 0.0;
            for (var k = 0; k < a.Length; k++) s += Math.Abs(a[k] - b[k]);
            return s / a.Length;
        }
        double na = a.Length, nb = b.Length, u = 0, total = 0;
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            var next = Math.Min((i + 1) / na, (j + 1) / nb);
            total += (next - u) * Math.Abs(a[i] - b[j]);
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

    private static double[][] ColumnsSorted(Tensor projected)
    {
        var rows = (int)projected.size(0);
        var cols = (int)projected.size(1);
        var flat = projected.T.contiguous().ToArray<double>(); // (P, N) row-major
        var result = new double[cols][];
        for (var c = 0; c < cols; c++)
        {
            result[c] = flat.AsSpan(c * rows, rows).ToArray();
            Array.Sort(result[c]);
        }
        return result;
    }
}
