using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Likelihood;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Likelihood;

/// <summary>
/// The PF-ODE likelihood against closed forms: Gaussian data N(μ, Σ) under VP has Gaussian marginals
/// p_t = N(α_t·μ, α_t²Σ + σ_t²I), so the exact score is −C_t⁻¹(x − α_t·μ) and log p_ε(x) is known.
/// </summary>
public class ExactLikelihoodTests
{
    private static readonly VpSde Vp = new();
    private static readonly double[] Mu = ToyDatasets.GaussianMean;
    private static readonly double[,] Sigma = ToyDatasets.GaussianCovariance;

    /// <summary>The exact score of the VP-perturbed gaussian set, differentiable in x: (N, 2), t (N).</summary>
    private static Tensor ExactScore(Tensor x, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var alpha = Vp.MeanCoefficient(t);          // (N)
        var var = Vp.Std(t).square();               // (N)
        var a2 = alpha.square();
        var c11 = a2 * Sigma[0, 0] + var;
        var c12 = a2 * Sigma[0, 1];
        var c22 = a2 * Sigma[1, 1] + var;
        var det = c11 * c22 - c12 * c12;
        var r1 = x.select(1, 0) - alpha * Mu[0];
        var r2 = x.select(1, 1) - alpha * Mu[1];
        var s1 = -(c22 * r1 - c12 * r2) / det;
        var s2 = -(c11 * r2 - c12 * r1) / det;
        return torch.stack([s1, s2], 1).MoveToOuterDisposeScope();
    }

    /// <summary>−log N(x; α_t·μ, α_t²Σ + σ_t²I) per point.</summary>
    private static double[] ClosedFormNll(Tensor x, double t)
    {
        var (alpha, sigma) = Vp.Marginal(t);
        var c11 = alpha * alpha * Sigma[0, 0] + sigma * sigma;
        var c12 = alpha * alpha * Sigma[0, 1];
        var c22 = alpha * alpha * Sigma[1, 1] + sigma * sigma;
        var det = c11 * c22 - c12 * c12;
        var p = x.to(ScalarType.Float64).ToArray<double>();
        var n = p.Length / 2;
        var nll = new double[n];
        for (var i = 0; i < n; i++)
        {
            var r1 = p[2 * i] - alpha * Mu[0];
            var r2 = p[2 * i + 1] - alpha * Mu[1];
            var quad = (c22 * r1 * r1 - 2 * c12 * r1 * r2 + c11 * r2 * r2) / det;
            nll[i] = 0.5 * quad + 0.5 * Math.Log(det) + Math.Log(2 * Math.PI);
        }
        return nll;
    }

    private static void Close(double[] expected, Tensor actual, double rtol = 1e-10, double atol = 1e-10)
    {
        var a = actual.to(ScalarType.Float64).ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (var i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]), $"[{i}]: expected {expected[i]}, got {a[i]}");
    }

    private static Tensor Points(int n, ulong seed) => ToyDatasets.Sample(DataSet.Gaussian, n, new Generator(seed)).to(ScalarType.Float64);

    [Fact]
    public void Exact_trace_recovers_the_Gaussian_log_density_to_solver_tolerance()
    {
        using var scope = torch.NewDisposeScope();
        var x = Points(16, 11);
        var options = new LikelihoodOptions(TraceEstimator.Exact);
        using var result = ExactLikelihood.Evaluate(Vp, ExactScore, x, new Generator(0), options);
        var expected = ClosedFormNll(x, options.Eps);
        // The identity log p_ε(x) = log p_T(x(T)) + ∫∇·f̃ holds with the true p_T = N(α_T·μ, α_T²Σ + σ_T²I); checked
        // with it, only the integrator's error remains. (First failure of this test: with the N(0, I) prior the
        // estimator reports, the gap was 8.0e-3 — the prior mismatch, O(α_T·|μ|) with α_T = 0.0066, not the solver.)
        var integrated = ClosedFormNll(result.Latent, ForwardSde.T).Zip(result.DeltaLogp.ToArray<double>(), (p, dl) => p - dl).ToArray();
        var worst = expected.Zip(integrated, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"largest |NLL − closed form| = {worst:E3} (NFE {result.Nfe})");
        var actual = result.Nll.ToArray<double>();
        var priorGap = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(priorGap < 0.02, $"with the N(0, I) prior: largest gap {priorGap:E3}");
        Assert.InRange(result.Nfe, 20, 2000);
        // The latent x(T) is close to the N(0, I) prior's scale, and Δlog p is what makes up the difference.
        Close(actual, -(result.PriorLogp + result.DeltaLogp));
    }

    [Theory]
    [InlineData(TraceEstimator.Rademacher, 1)]
    [InlineData(TraceEstimator.Gaussian, 4)]
    public void Hutchinson_is_unbiased_within_its_standard_error(TraceEstimator estimator, int probes)
    {
        using var scope = torch.NewDisposeScope();
        const int n = 64;
        var x = Points(n, 12);
        using var exact = ExactLikelihood.Evaluate(Vp, ExactScore, x, new Generator(0), new LikelihoodOptions(TraceEstimator.Exact));
        using var hutch = ExactLikelihood.Evaluate(Vp, ExactScore, x, new Generator(5), new LikelihoodOptions(estimator, probes));
        var diff = (hutch.Nll - exact.Nll).ToArray<double>();
        var mean = diff.Average();
        var sd = Math.Sqrt(diff.Sum(d => (d - mean) * (d - mean)) / (n - 1));
        Assert.True(sd > 1e-4, $"the estimator has noise (sd {sd:E2}); a zero would mean the probes did nothing");
        Assert.True(Math.Abs(mean) < 4 * sd / Math.Sqrt(n), $"mean error {mean:E3} vs standard error {sd / Math.Sqrt(n):E3}");
    }

    [Fact]
    public void More_probes_shrink_the_estimator_spread()
    {
        using var scope = torch.NewDisposeScope();
        const int n = 48;
        var x = Points(n, 13);
        using var exact = ExactLikelihood.Evaluate(Vp, ExactScore, x, new Generator(0), new LikelihoodOptions(TraceEstimator.Exact));
        double Spread(int probes)
        {
            using var r = ExactLikelihood.Evaluate(Vp, ExactScore, x, new Generator(9), new LikelihoodOptions(TraceEstimator.Rademacher, probes));
            return Math.Sqrt((r.Nll - exact.Nll).square().mean().item<double>());
        }
        var one = Spread(1);
        var sixteen = Spread(16);
        Assert.True(sixteen < one / 2, $"RMS error {one:E2} with 1 probe, {sixteen:E2} with 16 (expected ≈ ÷4)");
    }

    [Fact]
    public void Divergences_of_a_linear_map_are_its_trace()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        var a = torch.randn([3, 3], g, ScalarType.Float64);
        var av = a.ToArray<double>();
        var trace = av[0] + av[4] + av[8];
        var offSquares = av.Sum(v => v * v) - av[0] * av[0] - av[4] * av[4] - av[8] * av[8];
        Tensor F(Tensor x) => x.matmul(a.transpose(0, 1)); // row-wise A·x
        var x = torch.randn([5, 3], g, ScalarType.Float64);
        var (fx, exact) = ExactLikelihood.ExactDivergence(F, x);
        Close(F(x).ToArray<double>(), fx, rtol: 1e-12, atol: 1e-12);
        Close(Enumerable.Repeat(trace, 5).ToArray(), exact, rtol: 1e-12, atol: 1e-12);
        // Rademacher: vᵀAv = tr A + Σ_{i≠j} A_ij v_i v_j; averaged over many probes it tends to tr A.
        var probes = Enumerable.Range(0, 4000).Select(_ => torch.randint(0, 2, [5, 3], g).to(ScalarType.Float64) * 2 - 1).ToArray();
        var (_, hutch) = ExactLikelihood.HutchinsonDivergence(F, x, probes);
        // Var(vᵀAv) = Σ_{i≠j} A_ij(A_ij + A_ji) ≤ 2·Σ_{i≠j} A_ij²; its mean over 4000 probes has that over 4000.
        var offDiagonal = Math.Sqrt(2 * offSquares / 4000.0);
        foreach (var h in hutch.ToArray<double>()) Assert.InRange(h, trace - 4 * offDiagonal, trace + 4 * offDiagonal);
        Assert.False(x.requires_grad);
    }

    [Fact]
    public void Bits_per_dim_adds_seven_bits_for_data_in_minus_one_one()
    {
        // score_sde likelihood.py: offset = 7 − inverse_scaler(−1) → 7 for [−1, 1], 8 for [0, 1].
        Assert.Equal(7.0, ExactLikelihood.BitsPerDim(0, 784, 2), 12);
        Assert.Equal(8.0, ExactLikelihood.BitsPerDim(0, 784, 1), 12);
        Assert.Equal(1.0, ExactLikelihood.BitsPerDim(784 * Math.Log(2), 784, null), 12);
        // A model uniform on [−1, 1]^D (NLL = D·log 2) codes 8-bit data in exactly 8 bits/dim.
        Assert.Equal(8.0, ExactLikelihood.BitsPerDim(3072 * Math.Log(2), 3072, 2), 12);
    }

    [Fact]
    public void Dequantize_fills_each_8_bit_bin_uniformly()
    {
        using var scope = torch.NewDisposeScope();
        var k = (torch.arange(256 * 400) % 256).to(ScalarType.Float64);                // every level 400 times
        var x = k / 255.0 * 2 - 1;                                                          // our [−1, 1] images
        var deq = ExactLikelihood.Dequantize(x, -1, 1, new Generator(1));
        var bin = ((deq + 1) / 2 * 256).floor();                                            // back to [0, 256)
        Assert.True(bin.equal(k));
        var frac = ((deq + 1) / 2 * 256 - k).mean().item<double>();
        Assert.InRange(frac, 0.49, 0.51);
    }
}
