using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>The mean and covariance of a set of feature vectors, in float64.</summary>
public sealed record GaussianStats(double[] Mean, double[,] Covariance, long Count)
{
    public int Dim => Mean.Length;

    /// <summary>Mean and unbiased covariance (divisor n − 1, as numpy's <c>np.cov</c> in pytorch-fid) of (N, D) features, N ≥ 2.</summary>
    public static GaussianStats Of(Tensor features)
    {
        if (features.dim() != 2) throw new ArgumentException($"feature statistics need (N, D) features, got {features.Describe()}");
        var n = features.size(0);
        if (n < 2) throw new ArgumentException($"feature statistics need at least two feature vectors, got {n}");
        using var scope = torch.NewDisposeScope();
        var x = features.detach().to(Device.CPU, ScalarType.Float64); // (N, D)
        var mean = x.mean(0);                                          // (D)
        var centred = x - mean;                                        // (N, D)
        var cov = centred.transpose(0, 1).matmul(centred).div(n - 1);  // (D, D)
        var d = (int)x.size(1);
        var flat = cov.contiguous().ToArray<double>();
        var covariance = new double[d, d];
        Buffer.BlockCopy(flat, 0, covariance, 0, flat.Length * sizeof(double));
        return new GaussianStats(mean.ToArray<double>(), covariance, n);
    }
}

/// <summary>
/// The Fréchet (2-Wasserstein) distance between the Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6;
/// Dowson &amp; Landau 1982): d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{½}). The trace of the matrix square root is computed
/// from a symmetric matrix: Σ₁Σ₂ is similar to √Σ₁ Σ₂ √Σ₁ (conjugate by √Σ₁), which is symmetric positive semidefinite,
/// so Tr(Σ₁Σ₂)^{½} = Σ √λᵢ(√Σ₁ Σ₂ √Σ₁) — two Jacobi eigendecompositions, no complex parts to discard (pytorch-fid
/// takes scipy's sqrtm of the non-symmetric product and drops an imaginary residue). Reported as d², as FID is.
/// </summary>
public static class FrechetDistance
{
    public static double Compute(Tensor features1, Tensor features2) => Compute(GaussianStats.Of(features1), GaussianStats.Of(features2));

    public static double Compute(GaussianStats a, GaussianStats b)
    {
        if (a.Dim != b.Dim) throw new ArgumentException($"Fréchet distance: feature dims differ ({a.Dim} vs {b.Dim})");
        var d = a.Dim;
        var meanTerm = 0.0;
        for (var i = 0; i < d; i++) meanTerm += (a.Mean[i] - b.Mean[i]) * (a.Mean[i] - b.Mean[i]);
        var trace = 0.0;
        for (var i = 0; i < d; i++) trace += a.Covariance[i, i] + b.Covariance[i, i];
        var root1 = SymmetricEigen.Sqrt(a.Covariance);
        var middle = Multiply(Multiply(root1, b.Covariance), root1); // √Σ₁ Σ₂ √Σ₁, symmetric PSD
        var (values, _) = SymmetricEigen.Decompose(middle);
        var traceRoot = values.Sum(v => Math.Sqrt(Math.Max(v, 0)));
        return meanTerm + trace - 2 * traceRoot;
    }

    private static double[,] Multiply(double[,] x, double[,] y)
    {
        var (n, k, m) = (x.GetLength(0), x.GetLength(1), y.GetLength(1));
        var r = new double[n, m];
        for (var i = 0; i < n; i++)
            for (var l = 0; l < k; l++)
            {
                var xil = x[i, l];
                if (xil == 0) continue;
                for (var j = 0; j < m; j++) r[i, j] += xil * y[l, j];
            }
        return r;
    }
}
