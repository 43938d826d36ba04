using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>
/// Every sampler, driven by the exact score of Gaussian data N(μ, s²·I): under x_t = α·x₀ + σ·z the marginal is
/// N(α·μ, (α²s² + σ²)·I), whose score is −(x − α·μ)/(α²s² + σ²). Sampling must recover μ and s.
/// </summary>
public class GaussianSamplerTests
{
    private static readonly double[] Mu = [1.0, -0.5];
    private const double S = 0.5;
    private const int N = 4000;

    private static Tensor MuTensor(Tensor like) => torch.tensor(Mu.Select(m => (float)m).ToArray(), [1, 2]).to(like.dtype);

    public static ScoreFn ExactScore(ForwardSde sde, Action? onCall = null) => (x, t) =>
    {
        onCall?.Invoke();
        using var scope = torch.NewDisposeScope();
        var alpha = ForwardSde.Broadcast(sde.MeanCoefficient(t), x);
        var sigma = ForwardSde.Broadcast(sde.Std(t), x);
        var variance = alpha.square() * (S * S) + sigma.square();
        return (-(x - alpha * MuTensor(x)) / variance).MoveToOuterDisposeScope();
    };

    public static NoiseFn ExactNoise(DdpmSchedule schedule) => (x, steps) =>
    {
        using var scope = torch.NewDisposeScope();
        var (a, s) = schedule.Marginal(steps);
        var alpha = ForwardSde.Broadcast(a, x);
        var sigma = ForwardSde.Broadcast(s, x);
        var variance = alpha.square() * (S * S) + sigma.square();
        return (sigma * (x - alpha * MuTensor(x)) / variance).MoveToOuterDisposeScope(); // ε = −σ·score
    };

    private static void AssertRecovers(Tensor samples, double tolerance = 0.05)
    {
        using var scope = torch.NewDisposeScope();
        var mean = samples.mean(0).ToArray<float>();
        var std = samples.std(0).ToArray<float>();
        for (var d = 0; d < 2; d++)
        {
            Assert.InRange(mean[d], Mu[d] - tolerance, Mu[d] + tolerance);
            Assert.InRange(std[d], S - tolerance, S + tolerance);
        }
    }

    public static TheoryData<string> Sdes => new() { "vp", "subvp", "ve" };

    private static ForwardSde Make(string kind) => kind switch { "vp" => new VpSde(), "subvp" => new SubVpSde(), _ => new VeSde(0.01, 50) }; // σ_max ≫ |μ|: the ODE keeps the prior's mismatch

    [Theory]
    [MemberData(nameof(Sdes))]
    public void Euler_maruyama_recovers_the_gaussian(string kind)
    {
        var sde = Make(kind);
        using var g = new Generator(1);
        using var result = EulerMaruyama.Sample(sde, ExactScore(sde), [N, 2], 500, g);
        Assert.Equal(500, result.Nfe);
        AssertRecovers(result.Samples);
    }

    [Theory]
    [MemberData(nameof(Sdes))]
    public void Predictor_corrector_recovers_the_gaussian(string kind)
    {
        var sde = Make(kind);
        using var g = new Generator(2);
        using var result = PredictorCorrector.Sample(sde, ExactScore(sde), [N, 2], 500, g);
        Assert.Equal(1000, result.Nfe);
        AssertRecovers(result.Samples);
    }

    [Theory]
    [MemberData(nameof(Sdes))]
    public void Heun_probability_flow_recovers_the_gaussian(string kind)
    {
        var sde = Make(kind);
        using var g = new Generator(3);
        var calls = 0;
        using var result = ProbabilityFlow.Heun(sde, ExactScore(sde, () => calls++), [N, 2], 100, g);
        Assert.Equal(200, result.Nfe);
        Assert.Equal(calls, result.Nfe);
        AssertRecovers(result.Samples);
    }

    [Theory]
    [MemberData(nameof(Sdes))]
    public void Rk45_probability_flow_recovers_the_gaussian_and_counts_evaluations(string kind)
    {
        var sde = Make(kind);
        using var g = new Generator(4);
        var calls = 0;
        using var result = ProbabilityFlow.Rk45(sde, ExactScore(sde, () => calls++), [N, 2], g);
        Assert.Equal(calls, result.Nfe);
        Assert.InRange(result.Nfe, 8, 2000);
        AssertRecovers(result.Samples);
    }

    [Fact]
    public void Rk45_and_heun_agree_on_the_same_prior_draw()
    {
        var sde = new VpSde();
        using var g1 = new Generator(5);
        using var g2 = new Generator(5);
        using var a = ProbabilityFlow.Rk45(sde, ExactScore(sde), [256, 2], g1);
        using var b = ProbabilityFlow.Heun(sde, ExactScore(sde), [256, 2], 1000, g2);
        using var scope = torch.NewDisposeScope();
        Assert.True((a.Samples - b.Samples).abs().max().item<float>() < 2e-3);
    }

    [Theory]
    [InlineData(BetaSchedule.Linear, null)]
    [InlineData(BetaSchedule.Cosine, null)]
    [InlineData(BetaSchedule.Linear, 100)]
    public void Ddpm_ancestral_recovers_the_gaussian(BetaSchedule schedule, int? steps)
    {
        var s = DdpmSchedule.Of(schedule);
        using var g = new Generator(6);
        using var result = DiscreteSamplers.Ddpm(s, ExactNoise(s), [N, 2], g, steps);
        Assert.Equal(steps ?? 1000, result.Nfe);
        AssertRecovers(result.Samples);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Ddim_recovers_the_gaussian(double eta)
    {
        var s = DdpmSchedule.Linear();
        using var g = new Generator(7);
        using var result = DiscreteSamplers.Ddim(s, ExactNoise(s), [N, 2], g, 100, eta);
        Assert.Equal(100, result.Nfe);
        AssertRecovers(result.Samples);
    }

    [Fact]
    public void Same_seed_gives_bitwise_the_same_samples_and_another_seed_differs()
    {
        var sde = new VpSde();
        SampleResult Run(ulong seed, Func<Generator, SampleResult> sampler)
        {
            using var g = new Generator(seed);
            return sampler(g);
        }
        Func<Generator, SampleResult>[] samplers =
        [
            g => EulerMaruyama.Sample(sde, ExactScore(sde), [64, 2], 50, g),
            g => PredictorCorrector.Sample(sde, ExactScore(sde), [64, 2], 50, g),
            g => ProbabilityFlow.Rk45(sde, ExactScore(sde), [64, 2], g),
            g => DiscreteSamplers.Ddpm(DdpmSchedule.Linear(), ExactNoise(DdpmSchedule.Linear()), [64, 2], g, 50),
            g => DiscreteSamplers.Ddim(DdpmSchedule.Linear(), ExactNoise(DdpmSchedule.Linear()), [64, 2], g, 50, 0.5),
        ];
        foreach (var sampler in samplers)
        {
            using var a = Run(11, sampler);
            using var b = Run(11, sampler);
            using var c = Run(12, sampler);
            Assert.True(a.Samples.equal(b.Samples));
            Assert.False(a.Samples.equal(c.Samples));
        }
    }

    [Fact]
    public void Trajectory_holds_the_requested_times_and_memory_stays_flat()
    {
        var sde = new VpSde();
        using var g = new Generator(8);
        var before = Tensor.SettledLiveNativeTensors();
        using (var result = EulerMaruyama.Sample(sde, ExactScore(sde), [128, 2], 200, g, recordAt: [1.0, 0.5, 0.1, 0.0]))
        {
            Assert.Equal(4, result.Trajectory.Count);
            Assert.Equal(1.0, result.Trajectory[0].Time);
            Assert.InRange(result.Trajectory[1].Time, 0.49, 0.5);
            Assert.True(result.Trajectory[^1].X.equal(result.Samples));
            Assert.Equal(before + 5, Tensor.LiveNativeTensors);
        }
        Assert.Equal(before, Tensor.LiveNativeTensors);
    }
}
