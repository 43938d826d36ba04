using Diffusion.Torch;
using Diffusion.Training.Schedules;
using Xunit;

namespace Diffusion.Training.Tests.Schedules;

public class PredictionTests
{
    public static TheoryData<Prediction, double, double> Cases()
    {
        var data = new TheoryData<Prediction, double, double>();
        foreach (var p in Enum.GetValues<Prediction>())
        {
            data.Add(p, 0.8, 0.6);  // VP / DDPM: α² + σ² = 1
            data.Add(p, 1.0, 5.0);  // VE
            data.Add(p, 0.3, 0.2);  // neither
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conversions_invert_each_other(Prediction p, double a, double s)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var x0 = torch.randn([16, 2], g, ScalarType.Float64);
        var eps = torch.randn([16, 2], g, ScalarType.Float64);
        var alpha = torch.full([16], a, ScalarType.Float64);
        var sigma = torch.full([16], s, ScalarType.Float64);
        var x = x0 * a + eps * s;
        var target = Predictions.Target(p, x0, eps, alpha, sigma);
        Assert.True(Predictions.ToEpsilon(p, target, x, alpha, sigma).allclose(eps, 1e-9, 1e-9));
        Assert.True(Predictions.ToX0(p, target, x, alpha, sigma).allclose(x0, 1e-9, 1e-9));
        Assert.True(Predictions.ToScore(p, target, x, alpha, sigma).allclose(-eps / s, 1e-9, 1e-9));
        Assert.True(Predictions.FromEpsilon(p, eps, x, alpha, sigma).allclose(target, 1e-9, 1e-9));
    }

    [Fact]
    public void V_is_alpha_eps_minus_sigma_x0()
    {
        using var scope = torch.NewDisposeScope();
        var x0 = torch.tensor(new double[] { 2 }, [1, 1]);
        var eps = torch.tensor(new double[] { -1 }, [1, 1]);
        var v = Predictions.Target(Prediction.V, x0, eps, torch.tensor(new double[] { 0.6 }), torch.tensor(new double[] { 0.8 }));
        Assert.Equal(0.6 * -1 - 0.8 * 2, v.item<double>(), 12);
    }

    [Fact]
    public void Linear_schedule_matches_ddpm()
    {
        var s = DdpmSchedule.Linear();
        Assert.Equal(1000, s.Steps);
        Assert.Equal(1e-4, s.Betas[0], 12);
        Assert.Equal(0.02, s.Betas[^1], 12);
        Assert.Equal(1 - 1e-4, s.AlphasCumprod[0], 12);
        Assert.InRange(s.AlphasCumprod[^1], 1e-5, 1e-4); // ≈ 4.0e-5
    }

    [Fact]
    public void Cosine_schedule_is_monotone_and_ends_near_zero()
    {
        var s = DdpmSchedule.Cosine();
        for (var i = 1; i < s.Steps; i++) Assert.True(s.AlphasCumprod[i] < s.AlphasCumprod[i - 1]);
        Assert.True(s.Betas.All(b => b is > 0 and <= 0.999));
        Assert.True(s.AlphasCumprod[^1] < 1e-4);
        Assert.True(s.AlphasCumprod[0] > 0.9999);
    }

    [Fact]
    public void Respacing_spans_the_whole_chain()
    {
        var taus = DdpmSchedule.Linear().Respaced(50);
        Assert.Equal(50, taus.Length);
        Assert.Equal(0, taus[0]);
        Assert.Equal(999, taus[^1]);
        Assert.Equal(Enumerable.Range(0, 1000), DdpmSchedule.Linear().Respaced(1000));
    }
}
