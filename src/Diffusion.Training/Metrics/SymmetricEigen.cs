namespace Diffusion.Training.Metrics;

/// <summary>
/// Eigenvalues and eigenvectors of a real symmetric matrix by the cyclic Jacobi method (Golub &amp; Van Loan,
/// Matrix Computations, 4th ed., §8.5.3, with the stable rotation of Algorithm 8.5.1): each sweep zeroes every
/// off-diagonal entry once by a plane rotation; it converges quadratically and keeps the eigenvectors orthonormal
/// to rounding. O(n³) a sweep, which for the 128 × 128 covariances of the Fréchet distance is a few milliseconds.
/// The binding has no LAPACK eigensolver, so the metric carries its own.
/// </summary>
public static class SymmetricEigen
{
    /// <summary>
    /// (values ascending, vectors) with <c>a = V diag(values) Vᵀ</c>; column j of <c>vectors</c> belongs to values[j].
    /// Only the symmetric part of <paramref name="a"/> is used ((a + aᵀ)/2); it must be square and finite.
    /// </summary>
    public static (double[] Values, double[,] Vectors) Decompose(double[,] a, int maxSweeps = 100)
    {
        var n = a.GetLength(0);
        if (a.GetLength(1) != n) throw new ArgumentException($"eigendecomposition needs a square matrix, got {n}×{a.GetLength(1)}");
        var m = new double[n, n];
        var v = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            v[i, i] = 1;
            for (var j = 0; j < n; j++)
            {
                m[i, j] = 0.5 * (a[i, j] + a[j, i]);
                if (!double.IsFinite(m[i, j])) throw new ArgumentException($"eigendecomposition: entry [{i}, {j}] = {a[i, j]} is not finite");
            }
        }
        for (var sweep = 0; sweep < maxSweeps && OffDiagonalNorm(m) > 1e-15 * FrobeniusNorm(m); sweep++)
            for (var p = 0; p < n - 1; p++)
                for (var q = p + 1; q < n; q++)
                    if (m[p, q] != 0) Rotate(m, v, p, q);
        var order = Enumerable.Range(0, n).OrderBy(i => m[i, i]).ToArray();
        var values = order.Select(i => m[i, i]).ToArray();
        var vectors = new double[n, n];
        for (var r = 0; r < n; r++)
            for (var c = 0; c < n; c++) vectors[r, c] = v[r, order[c]];
        return (values, vectors);
    }

    /// <summary>
    /// The symmetric positive-semidefinite square root V diag(√max(λ, 0)) Vᵀ: negative eigenvalues, which a covariance can
    /// only have from rounding, are clipped to zero.
    /// </summary>
    public static double[,] Sqrt(double[,] a)
    {
        var (values, vectors) = Decompose(a);
        var n = values.Length;
        var root = new double[n, n];
        for (var k = 0; k < n; k++)
        {
            var s = Math.Sqrt(Math.Max(values[k], 0));
            if (s == 0) continue;
            for (var i = 0; i < n; i++)
            {
                var vik = vectors[i, k] * s;
                for (var j = 0; j < n; j++) root[i, j] += vik * vectors[j, k];
            }
        }
        return root;
    }

    /// <summary>One Jacobi rotation J(p, q, θ) chosen so that (JᵀMJ)[p, q] = 0 (Golub &amp; Van Loan Alg. 8.5.1), applied to M and V.</summary>
    private static void Rotate(double[,] m, double[,] v, int p, int q)
    {
        var n = m.GetLength(0);
        var tau = (m[q, q] - m[p, p]) / (2 * m[p, q]);
        var t = (tau >= 0 ? 1 : -1) / (Math.Abs(tau) + Math.Sqrt(1 + tau * tau)); // the smaller root of t² + 2τt − 1 = 0
        var c = 1 / Math.Sqrt(1 + t * t);
        var s = t * c;
        for (var k = 0; k < n; k++) // columns p and q: M ← M J
        {
            var mkp = m[k, p];
            var mkq = m[k, q];
            m[k, p] = c * mkp - s * mkq;
            m[k, q] = s * mkp + c * mkq;
        }
        for (var k = 0; k < n; k++) // rows p and q: M ← Jᵀ M
        {
            var mpk = m[p, k];
            var mqk = m[q, k];
            m[p, k] = c * mpk - s * mqk;
            m[q, k] = s * mpk + c * mqk;
        }
        m[p, q] = m[q, p] = 0;
        for (var k = 0; k < n; k++) // V ← V J
        {
            var vkp = v[k, p];
            var vkq = v[k, q];
            v[k, p] = c * vkp - s * vkq;
            v[k, q] = s * vkp + c * vkq;
        }
    }

    private static double OffDiagonalNorm(double[,] m)
    {
        var sum = 0.0;
        for (var i = 0; i < m.GetLength(0); i++)
            for (var j = 0; j < m.GetLength(0); j++)
                if (i != j) sum += m[i, j] * m[i, j];
        return Math.Sqrt(sum);
    }

    private static double FrobeniusNorm(double[,] m)
    {
        var sum = 0.0;
        foreach (var x in m) sum += x * x;
        return Math.Sqrt(sum);
    }
}
