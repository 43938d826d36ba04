using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Names;
using Diffusion.Training.Sde;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>
/// score_sde's PC inpainter driven by the exact score of 2-D Gaussian data N(μ, Σ): under x_t = α·x₀ + σ·z the marginal is
/// N(αμ, α²Σ + σ²I) with score −(α²Σ + σ²I)⁻¹(x − αμ). Imputing coordinate 2 from coordinate 1 must give the closed-form
/// conditional N(μ₂ + Σ₂₁/Σ₁₁·(x₁ − μ₁), Σ₂₂ − Σ₂₁²/Σ₁₁).
/// </summary>
public class InpaintingTests(ITestOutputHelper output)
{
    private static readonly double[] Mu = [1.0, -0.5];
    private static readonly double[,] Cov = { { 0.5, 0.2 }, { 0.2, 0.3 } };

    public static ScoreFn ExactScore(ForwardSde sde) => (x, t) =>
    {
        using var scope = torch.NewDisposeScope();
        var alpha = ForwardSde.Broadcast(sde.MeanCoefficient(t), x).to(x.dtype);   // (N, 1)
        var s2 = ForwardSde.Broadcast(sde.Std(t), x).to(x.dtype).square();
        var a2 = alpha.square();
        var (a, b, c) = (a2 * Cov[0, 0] + s2, a2 * Cov[0, 1], a2 * Cov[1, 1] + s2);
        var det = a * c - b * b;
        var d0 = x.narrow(1, 0, 1) - alpha * Mu[0];
        var d1 = x.narrow(1, 1, 1) - alpha * Mu[1];
        return torch.cat([-(c * d0 - b * d1) / det, -(a * d1 - b * d0) / det], 1).MoveToOuterDisposeScope();
    };

    private static ForwardSde Make(string kind) => kind switch { "vp" => new VpSde(), "subvp" => new SubVpSde(), _ => new VeSde(0.01, 50) };

    public static TheoryData<string> Sdes => new() { "vp", "subvp", "ve" };

    private const double X1 = 1.5;
    private const int N = 4000;

    private static (Tensor Known, Tensor Mask) Problem()
    {
        var known = torch.tensor(Enumerable.Range(0, N).SelectMany(_ => new[] { (float)X1, 0f }).ToArray(), [N, 2]);
        var mask = torch.tensor(new[] { 1f, 0f }, [1, 2]);
        return (known, mask);
    }

    [Theory]
    [MemberData(nameof(Sdes))]
    public void Imputing_one_gaussian_coordinate_gives_the_closed_form_conditional(string kind)
    {
        var sde = Make(kind);
        var (known, mask) = Problem();
        using var g = new Generator(3);
        using var result = Inpainting.Inpaint(sde, ExactScore(sde), known, mask, 500, g);
        Assert.Equal(1000, result.Nfe);
        var x2 = result.Samples.narrow(1, 1, 1).to(ScalarType.Float64);
        var mean = x2.mean().to(ScalarType.Float64).item<double>();
        var variance = x2.var().to(ScalarType.Float64).item<double>();
        var condMean = Mu[1] + Cov[1, 0] / Cov[0, 0] * (X1 - Mu[0]);                 // −0.3
        var condVar = Cov[1, 1] - Cov[1, 0] * Cov[1, 0] / Cov[0, 0];                  // 0.22
        var seMean = Math.Sqrt(condVar / N);
        var seVar = condVar * Math.Sqrt(2.0 / (N - 1));
        output.WriteLine($"{kind}: mean {mean:F4} (want {condMean:F4}, {(mean - condMean) / seMean:F2} SE), variance {variance:F4} (want {condVar:F4}, {(variance - condVar) / seVar:F2} SE)");
        Assert.InRange(mean, condMean - 4 * seMean, condMean + 4 * seMean);
        Assert.InRange(variance, condVar - 4 * seVar, condVar + 4 * seVar);
    }

    [Theory]
    [MemberData(nameof(Sdes))]
    public void The_known_region_comes_back_as_given(string kind)
    {
        // The result is the last predictor's mean with the known region at α(ε)·x_known (score_sde's x_mean):
        // exact for VE, within 1 − α(ε) ≈ 5e-5 relative for VP and sub-VP.
        var sde = Make(kind);
        var (known, mask) = Problem();
        using var g = new Generator(4);
        using var result = Inpainting.Inpaint(sde, ExactScore(sde), known, mask, 50, g);
        var error = Inpainting.Rmse(result.Samples, known, mask.expand(known.shape));
        output.WriteLine($"{kind}: known-region RMSE {error:E2}");
        Assert.True(error <= (kind == "ve" ? 0 : 1e-4 * X1), $"{error}");
    }

    [Fact]
    public void A_seed_reproduces_the_fill_and_another_seed_changes_it()
    {
        var sde = new VpSde();
        var (known, mask) = Problem();
        Tensor Run(ulong seed)
        {
            using var g = new Generator(seed);
            return Inpainting.Inpaint(sde, ExactScore(sde), known.narrow(0, 0, 64), mask, 20, g).Samples;
        }
        using var a = Run(7);
        using var b = Run(7);
        using var c = Run(8);
        Assert.True(a.equal(b));
        Assert.False(a.equal(c));
    }

    [Fact]
    public void Masks_cover_what_they_say()
    {
        using var g = new Generator(0);
        var center = MaskSpec.Parse("center", "--mask").Make([2, 1, 8, 8], g);
        Assert.Equal(2 * 64 - 2 * 16, center.sum().to(ScalarType.Float64).item<double>());
        Assert.Equal(0, center[0, 0, 2, 2].to(ScalarType.Float64).item<double>());
        Assert.Equal(0, center[0, 0, 5, 5].to(ScalarType.Float64).item<double>());
        Assert.Equal(1, center[0, 0, 1, 5].to(ScalarType.Float64).item<double>());
        Assert.Equal(1, center[0, 0, 6, 5].to(ScalarType.Float64).item<double>());
        var volume = MaskSpec.Parse("center", "--mask").Make([1, 1, 8, 8, 8], g);
        Assert.Equal(512 - 64, volume.sum().to(ScalarType.Float64).item<double>());
        var left = MaskSpec.Parse("left-half", "--mask").Make([1, 3, 4, 6], g);
        Assert.Equal(0, left.narrow(3, 0, 3).sum().to(ScalarType.Float64).item<double>());
        Assert.Equal(3 * 4 * 3, left.narrow(3, 3, 3).sum().to(ScalarType.Float64).item<double>());
        var random = MaskSpec.Parse("random:0.25", "--mask").Make([4, 3, 32, 32], g);
        var unknown = 1 - random.mean().to(ScalarType.Float64).item<double>();
        Assert.InRange(unknown, 0.22, 0.28);
        Assert.True(random.narrow(1, 0, 1).equal(random.narrow(1, 2, 1)));             // shared across channels
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        Assert.True(MaskSpec.Parse("random:0.5", "--mask").Make([2, 1, 8, 8], g1).equal(MaskSpec.Parse("random:0.5", "--mask").Make([2, 1, 8, 8], g2)));
        Assert.Equal("random:0.25", MaskSpec.Parse("RANDOM:0.25", "--mask").ToString());
        Assert.Contains("known: center, left-half, random", Assert.Throws<UnknownNameException>(() => MaskSpec.Parse("top", "--mask")).Message);
        Assert.Contains("0 < P < 1", Assert.Throws<ArgumentException>(() => MaskSpec.Parse("random:1.5", "--mask")).Message);
        Assert.Contains("only random", Assert.Throws<ArgumentException>(() => MaskSpec.Parse("center:0.5", "--mask")).Message);
    }
}
