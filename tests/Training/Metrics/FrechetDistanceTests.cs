using System.Text.Json;
using Diffusion.Tests;
using Diffusion.Torch;
using Diffusion.Training.Metrics;
using Xunit;

namespace Diffusion.Training.Tests.Metrics;

public class FrechetDistanceTests
{
    private static GaussianStats Stats(double[] mean, double[,] cov) => new(mean, cov, 1000);

    private static double[,] Diagonal(params double[] d)
    {
        var m = new double[d.Length, d.Length];
        for (var i = 0; i < d.Length; i++) m[i, i] = d[i];
        return m;
    }

    [Fact]
    public void CommutingCovariances_GiveTheClosedForm()
    {
        // Diagonal Σ₁, Σ₂ commute: Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) = Σᵢ (√aᵢ − √bᵢ)².
        double[] a = [4, 1, 0.25, 9], b = [1, 1, 2.25, 0.01];
        double[] mu1 = [1, 2, 3, 4], mu2 = [0, 2, 5, 4.5];
        var expected = mu1.Zip(mu2, (x, y) => (x - y) * (x - y)).Sum() + a.Zip(b, (x, y) => Math.Pow(Math.Sqrt(x) - Math.Sqrt(y), 2)).Sum();
        Assert.Equal(expected, FrechetDistance.Compute(Stats(mu1, Diagonal(a)), Stats(mu2, Diagonal(b))), 12);
    }

    [Fact]
    public void NonCommuting2x2_MatchesTheClosedFormOfTheTraceRoot()
    {
        // For 2×2 M with non-negative eigenvalues, Tr √M = √(Tr M + 2√det M); M = Σ₁Σ₂ does not commute here.
        var s1 = new double[,] { { 2, 0.9 }, { 0.9, 1 } };
        var s2 = new double[,] { { 0.5, -0.3 }, { -0.3, 3 } };
        var m = new double[2, 2];
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 2; j++)
                m[i, j] = s1[i, 0] * s2[0, j] + s1[i, 1] * s2[1, j];
        Assert.NotEqual(m[0, 1], m[1, 0]);
        var traceRoot = Math.Sqrt(m[0, 0] + m[1, 1] + 2 * Math.Sqrt(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]));
        var expected = 0.25 + 1 + (2 + 1) + (0.5 + 3) - 2 * traceRoot; // ‖(0.5, 1)‖² + traces
        Assert.Equal(expected, FrechetDistance.Compute(Stats([0.5, 1], s1), Stats([0, 0], s2)), 12);
    }

    [Fact]
    public void IdenticalSets_AreAtZero_AndTheDistanceIsSymmetricAndTranslationInvariant()
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(7);
        var mix = torch.randn([12, 12], g, ScalarType.Float64);
        var a = torch.randn([400, 12], g, ScalarType.Float64).matmul(mix);        // (400, 12), correlated
        var b = torch.randn([300, 12], g, ScalarType.Float64).matmul(mix).mul(1.3); // (300, 12)
        Assert.Equal(0, FrechetDistance.Compute(a, a), 9);
        var ab = FrechetDistance.Compute(a, b);
        Assert.True(ab > 0.1, $"distinct sets gave {ab}");
        Assert.Equal(ab, FrechetDistance.Compute(b, a), 9);
        var shift = torch.randn([12], g, ScalarType.Float64).mul(5);
        Assert.Equal(ab, FrechetDistance.Compute(a + shift, b + shift), 8);
        // Moving one set by δ changes only the mean term: ‖Δμ + δ‖² − ‖Δμ‖² = ‖δ‖² + 2δ·Δμ.
        var meanGap = a.mean(0) - b.mean(0);
        var change = shift.square().sum().item<double>() + 2 * shift.mul(meanGap).sum().item<double>();
        Assert.Equal(ab + change, FrechetDistance.Compute(a + shift, b), 8);
    }

    [Fact]
    public void RankDeficientCovariances_GiveAFiniteNonNegativeDistance()
    {
        // 20 features from 5 latent dims (N < D shapes too): the square root must clip rounding negatives, not fail. At a
        // zero eigenvalue the square root turns rounding ε·‖Σ‖ into √ε·‖Σ‖, so identical rank-deficient sets give
        // 0 within ~1e-7 of the trace (measured: −2.7e-6 at trace ≈ 100), not within 1e-12.
        using var scope = torch.NewDisposeScope();
        var g = new Generator(3);
        var a = torch.randn([50, 5], g, ScalarType.Float64).matmul(torch.randn([5, 20], g, ScalarType.Float64));
        var b = torch.randn([15, 20], g, ScalarType.Float64);
        var d = FrechetDistance.Compute(a, b);
        Assert.True(double.IsFinite(d) && d > 0, $"got {d}");
        var trace = a.var(0).sum().item<double>();
        Assert.True(Math.Abs(FrechetDistance.Compute(a, a)) < 1e-6 * trace, $"{FrechetDistance.Compute(a, a)} at trace {trace}");
    }

    [Fact]
    public void MismatchedDims_AndTooFewRows_AreRejected()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(torch.zeros([4, 3]), torch.zeros([4, 2])));
        Assert.Contains("feature dims differ (3 vs 2)", e.Message);
        Assert.Contains("at least two", Assert.Throws<ArgumentException>(() => GaussianStats.Of(torch.zeros([1, 3]))).Message);
        Assert.Contains("(N, D)", Assert.Throws<ArgumentException>(() => GaussianStats.Of(torch.zeros([4, 1, 3]))).Message);
    }

    [PythonTorchFact]
    public void MatchesNumpy_ThroughTheEigenvaluesOfTheNonSymmetricProduct()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Fixtures", "frechet_distance.py");
        var r = PythonProcess.Succeed(TimeSpan.FromSeconds(60), script, "500", "32");
        using var json = JsonDocument.Parse(r.Stdout);
        double[,] Read(string key)
        {
            var rows = json.RootElement.GetProperty(key).EnumerateArray().Select(x => x.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            var m = new double[rows.Length, rows[0].Length];
            for (var i = 0; i < rows.Length; i++)
                for (var j = 0; j < rows[0].Length; j++) m[i, j] = rows[i][j];
            return m;
        }
        using var scope = torch.NewDisposeScope();
        var ours = FrechetDistance.Compute(torch.tensor(Read("a")), torch.tensor(Read("b")));
        var theirs = json.RootElement.GetProperty("fd").GetDouble();
        Assert.True(Math.Abs(ours - theirs) <= 1e-9 * Math.Abs(theirs), $"ours {ours}, numpy {theirs}");
    }
}

public class SymmetricEigenTests
{
    [Fact]
    public void RandomSymmetricMatrix_IsReconstructed_WithOrthonormalVectors_AndAscendingValues()
    {
        const int n = 40;
        var rng = new Random(5);
        var a = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j <= i; j++) a[i, j] = a[j, i] = rng.NextDouble() * 2 - 1;
        var (values, v) = SymmetricEigen.Decompose(a);
        for (var k = 1; k < n; k++) Assert.True(values[k - 1] <= values[k]);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                double rebuilt = 0, gram = 0;
                for (var k = 0; k < n; k++)
                {
                    rebuilt += v[i, k] * values[k] * v[j, k];
                    gram += v[k, i] * v[k, j];
                }
                Assert.Equal(a[i, j], rebuilt, 11);
                Assert.Equal(i == j ? 1 : 0, gram, 11);
            }
    }

    [Fact]
    public void Sqrt_SquaresBack_AndKnownSpectraComeOut()
    {
        var a = new double[,] { { 2, 1 }, { 1, 2 } }; // eigenvalues 1 and 3
        Assert.Equal([1.0, 3.0], SymmetricEigen.Decompose(a).Values.Select(x => Math.Round(x, 12)));
        var r = SymmetricEigen.Sqrt(a);
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 2; j++) Assert.Equal(a[i, j], r[i, 0] * r[0, j] + r[i, 1] * r[1, j], 12);
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(new double[2, 3])).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => SymmetricEigen.Decompose(new double[,] { { double.NaN } })).Message);
    }
}
