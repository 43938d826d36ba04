using Diffusion.Torch;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Sde;

/// <summary>Forward SDEs against their closed forms (Song et al. 2021 eq. 29–30) and against simulation.</summary>
public class SdeMarginalTests
{
    private static double At(Tensor t) => t.to(ScalarType.Float64).item<double>();

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void Vp_marginal_is_the_closed_form(double t)
    {
        using var scope = torch.NewDisposeScope();
        var sde = new VpSde();
        // ∫₀ᵗβ by the trapezoid rule on a fine grid, independent of the implementation's formula.
        var integral = 0.0;
        const int n = 10_000;
        for (var i = 0; i < n; i++)
        {
            double a = t * i / n, b = t * (i + 1) / n;
            integral += (b - a) * (0.1 + a * 19.9 + 0.1 + b * 19.9) / 2;
        }
        var alpha = Math.Exp(-0.5 * integral);
        var tt = torch.full([1], t, ScalarType.Float64);
        Assert.Equal(alpha, At(sde.MeanCoefficient(tt)), 9);
        Assert.Equal(Math.Sqrt(1 - alpha * alpha), At(sde.Std(tt)), 9);
        Assert.Equal(alpha, sde.Marginal(t).Alpha, 9);
        Assert.Equal(Math.Sqrt(1 - alpha * alpha), sde.Marginal(t).Sigma, 9);
        // sub-VP: same mean, std 1 − e^{−∫β}.
        var sub = new SubVpSde();
        Assert.Equal(alpha, At(sub.MeanCoefficient(tt)), 9);
        Assert.Equal(1 - alpha * alpha, At(sub.Std(tt)), 9);
        Assert.True(At(sub.Std(tt)) <= At(sde.Std(tt)) + 1e-12);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void Ve_sigma_is_geometric(double t)
    {
        using var scope = torch.NewDisposeScope();
        var sde = new VeSde(0.01, 50);
        var tt = torch.full([1], t, ScalarType.Float64);
        Assert.Equal(0.01 * Math.Pow(50 / 0.01, t), At(sde.Std(tt)), 9);
        Assert.Equal(1.0, At(sde.MeanCoefficient(tt)), 12);
        // g(t)² = dσ²/dt for VE.
        var g = At(sde.Diffusion(tt));
        Assert.Equal(2 * Math.Log(5000) * Math.Pow(0.01 * Math.Pow(5000, t), 2), g * g, 6);
    }

    public static TheoryData<string, double> Processes => new() { { "vp", 0.3 }, { "vp", 1.0 }, { "subvp", 0.5 }, { "ve", 0.5 } };

    /// <summary>Many small Euler–Maruyama steps of dx = f dt + g dw from a fixed x₀ reach mean α·x₀ and variance σ².</summary>
    [Theory]
    [MemberData(nameof(Processes))]
    public void Simulated_forward_sde_matches_the_marginal(string kind, double tEnd)
    {
        using var scope = torch.NewDisposeScope();
        ForwardSde sde = kind switch { "vp" => new VpSde(), "subvp" => new SubVpSde(), _ => new VeSde(0.01, 5) };
        const int paths = 20_000, steps = 1000;
        using var g = new Generator(7);
        var x0 = torch.tensor(new[] { 1.5, -0.5 }, [1, 2]);
        // Start at the marginal of a small t₀ (exact), so VE's σ_min is accounted for.
        const double t0 = 1e-4;
        var (a0, s0) = sde.Marginal(t0);
        var x = ((x0 * a0).expand(paths, 2) + torch.randn([paths, 2], g, ScalarType.Float64) * s0).DetachFromDisposeScope();
        var dt = (tEnd - t0) / steps;
        for (var i = 0; i < steps; i++)
        {
            using var step = torch.NewDisposeScope();
            var t = torch.full([paths], t0 + i * dt, ScalarType.Float64);
            var next = x + sde.Drift(x, t) * dt + ForwardSde.Broadcast(sde.Diffusion(t), x) * Math.Sqrt(dt) * torch.randn([paths, 2], g, ScalarType.Float64);
            next.DetachFromDisposeScope();
            x.Dispose();
            x = next;
        }
        var (alpha, sigma) = sde.Marginal(tEnd);
        var mean = x.mean(0).ToArray<double>();
        var variance = x.var(0).ToArray<double>();
        x.Dispose();
        double[] start = [1.5, -0.5];
        for (var d = 0; d < 2; d++)
        {
            var se = sigma / Math.Sqrt(paths);
            Assert.InRange(mean[d], alpha * start[d] - 5 * se - 0.01 * sigma, alpha * start[d] + 5 * se + 0.01 * sigma);
            var varTol = sigma * sigma * (5 * Math.Sqrt(2.0 / paths) + 0.02);
            Assert.InRange(variance[d], sigma * sigma - varTol, sigma * sigma + varTol);
        }
    }

    [Fact]
    public void Prior_sampling_and_log_density_agree_with_the_prior()
    {
        using var scope = torch.NewDisposeScope();
        var sde = new VeSde(0.01, 3);
        using var g = new Generator(1);
        var z = sde.PriorSample([20_000, 2], g);
        Assert.Equal(3.0, z.std().item<float>(), 1);
        var point = torch.tensor(new float[] { 1, 2 }, [1, 2]);
        var expected = -Math.Log(2 * Math.PI * 9) - (1 + 4) / 18.0;
        Assert.Equal(expected, sde.PriorLogp(point).item<float>(), 4);
    }

    [Fact]
    public void Sigma_max_is_the_largest_pairwise_distance()
    {
        using var scope = torch.NewDisposeScope();
        var points = torch.tensor(new float[] { 0, 0, 3, 4, 1, 1 }, [3, 2]);
        Assert.Equal(5.0, VeSde.SigmaMaxFor(points), 4);
    }
}
