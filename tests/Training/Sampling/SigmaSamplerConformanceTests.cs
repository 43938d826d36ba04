using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>
/// Conformance of the σ-space samplers on 2-D Gaussian data N(μ, Σ) (full covariance), in float64, against the
/// closed-form denoiser and probability-flow map of <see cref="GaussianData"/> (the setup `diffusion samplers` plots),
/// and on a Gaussian mixture (<see cref="GaussianMixtureData"/>: closed-form denoiser, RK4 reference endpoint);
/// the orders are measured by <see cref="SamplerConvergence"/>. The network is the exact ε-predictor in the process's
/// own time, so D goes through the σ(t) correspondence under test.
/// </summary>
public class SigmaSamplerConformanceTests(ITestOutputHelper output)
{
    private static readonly double[] Mu = GaussianData.Mu;
    private static readonly double[,] Cov = GaussianData.Cov;

    private static DenoiserFn ExactDenoiser => GaussianData.ExactDenoiser;

    private static NetworkFn ExactEpsilonNetwork(ForwardSde sde, Action? onCall = null) => GaussianData.ExactEpsilonNetwork(sde, onCall);

    private static ForwardSde Make(string kind) => kind switch { "vp" => new VpSde(), "subvp" => new SubVpSde(), _ => new VeSde(0.01, 50) };

    private static ProcessKind KindOf(string kind) => kind switch { "vp" => ProcessKind.Vp, "subvp" => ProcessKind.SubVp, _ => ProcessKind.Ve };

    private static DiffusionProcess Process(string kind) => DiffusionProcess.Create(KindOf(kind));

    /// <summary>The library's solvers, and one deliberately wrong: Heun without its trapezoidal correction is Euler (<see cref="SigmaSamplers.Euler"/>), first order, claimed here as second. It must fail the order test.</summary>
    private static (SigmaSolver Run, double Order) Solver(string name) =>
        name == "broken-heun" ? ((d, x, s) => SigmaSamplers.Euler(d, x, s), 2) : SamplerConvergence.Solver(name) is var s ? (s.Run, s.Order) : default;

    /// <summary>Max-abs errors against the exact PF solution at <see cref="SamplerConvergence.FitSteps"/> steps, and the fitted order −d log err / d log NFE.</summary>
    private (double[] Errors, double Order) Convergence(string solver, string kind, SigmaGridKind grid, ConvergenceData data = ConvergenceData.Gaussian)
    {
        var (run, expected) = Solver(solver);
        var series = SamplerConvergence.Measure(solver, run, expected, KindOf(kind), grid, SamplerConvergence.FitSteps, data: data);
        var errors = series.Points.Select(p => p.Error).ToArray();
        output.WriteLine($"{solver} {kind} {SigmaGrids.Names.Name(grid)} {data}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}; order {series.Order:F2}");
        return (errors, series.Order);
    }

    /// <summary>The error a solver must be under at 128 steps: 5e-3 for second order and above, 0.1 for first-order Euler (measured 3–4e-2 on the Gaussian, 5.9e-2 on the mixture).</summary>
    private static double FinalErrorBound(string solver) => Solver(solver).Order >= 2 ? 5e-3 : 0.1;

    public static TheoryData<string, string, SigmaGridKind> Cases()
    {
        var data = new TheoryData<string, string, SigmaGridKind>();
        foreach (var solver in new[] { "euler", "edm-heun", "dpmpp-2m", "unipc-2", "unipc-3" })
        foreach (var kind in new[] { "vp", "ve" })
            data.Add(solver, kind, SigmaGridKind.Karras);
        data.Add("edm-heun", "subvp", SigmaGridKind.Karras);
        data.Add("dpmpp-2m", "vp", SigmaGridKind.LogSnr);
        data.Add("unipc-2", "ve", SigmaGridKind.LogSnr);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_deterministic_solver_converges_to_the_exact_flow_at_its_order(string solver, string kind, SigmaGridKind grid)
    {
        var (errors, order) = Convergence(solver, kind, grid);
        Assert.All(errors, e => Assert.True(e > 1e-11, $"error {e} is at float64 noise: the fit would measure rounding"));
        Assert.InRange(order, Solver(solver).Order - 0.3, Solver(solver).Order + 0.5);
        Assert.True(errors[^1] < FinalErrorBound(solver), $"error {errors[^1]} at {SamplerConvergence.FitSteps[^1]} steps");
    }

    public static TheoryData<string, string> MixtureCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var solver in new[] { "euler", "edm-heun", "dpmpp-2m", "unipc-2", "unipc-3" })
        foreach (var kind in new[] { "vp", "ve" })
            data.Add(solver, kind);
        return data;
    }

    /// <summary>
    /// The same orders on the Gaussian mixture, whose denoiser is nonlinear in x, against the RK4 reference endpoint from
    /// the same prior draws (<see cref="GaussianMixtureData"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(MixtureCases))]
    public void A_deterministic_solver_converges_at_its_order_on_a_gaussian_mixture(string solver, string kind)
    {
        var (errors, order) = Convergence(solver, kind, SigmaGridKind.Karras, ConvergenceData.Mixture);
        Assert.All(errors, e => Assert.True(e > 1e-10, $"error {e} is at the reference's accuracy: the fit would measure it"));
        Assert.InRange(order, Solver(solver).Order - 0.3, Solver(solver).Order + 0.5);
        Assert.True(errors[^1] < FinalErrorBound(solver), $"error {errors[^1]} at {SamplerConvergence.FitSteps[^1]} steps");
    }

    [Fact]
    public void The_broken_solver_fails_the_order_test_on_the_mixture_too()
    {
        var (_, order) = Convergence("broken-heun", "vp", SigmaGridKind.Karras, ConvergenceData.Mixture);
        Assert.False(order >= Solver("broken-heun").Order - 0.3, $"the broken solver measured order {order:F2}");
    }

    /// <summary>
    /// The mixture's closed forms: its denoiser obeys Tweedie's formula D = x + σ²∇log p_σ(x) (the gradient by central
    /// differences of the mixture density Σ_k w_k·N(x; μ_k, (s_k² + σ²)I)), and the RK4 reference at 1,000 steps agrees
    /// with 2,000 steps far below the solvers' errors.
    /// </summary>
    [Fact]
    public void The_mixture_denoiser_is_tweedies_and_its_reference_flow_is_converged()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(9);
        double LogDensity(double x, double y, double sigma) => Math.Log(Enumerable.Range(0, 3).Sum(k =>
        {
            var v = GaussianMixtureData.Stds[k] * GaussianMixtureData.Stds[k] + sigma * sigma;
            var d2 = Math.Pow(x - GaussianMixtureData.Means[k, 0], 2) + Math.Pow(y - GaussianMixtureData.Means[k, 1], 2);
            return GaussianMixtureData.Weights[k] / (2 * Math.PI * v) * Math.Exp(-d2 / (2 * v));
        }));
        foreach (var sigma in new[] { 0.05, 0.4, 2.0 })
        {
            var x = torch.randn([8, 2], g, ScalarType.Float64) * (1 + sigma);
            var d = GaussianMixtureData.ExactDenoiser(x, sigma);
            for (var i = 0; i < 8; i++)
            {
                var (a, b) = (x[i, 0].item<double>(), x[i, 1].item<double>());
                const double h = 1e-5;
                var gx = (LogDensity(a + h, b, sigma) - LogDensity(a - h, b, sigma)) / (2 * h);
                var gy = (LogDensity(a, b + h, sigma) - LogDensity(a, b - h, sigma)) / (2 * h);
                Assert.Equal(a + sigma * sigma * gx, d[i, 0].item<double>(), 1e-6);
                Assert.Equal(b + sigma * sigma * gy, d[i, 1].item<double>(), 1e-6);
            }
        }
        var prior = torch.randn([16, 2], g, ScalarType.Float64) * 80;
        using var coarse = GaussianMixtureData.ReferenceFlow(prior, 80, 0.002);
        using var fine = GaussianMixtureData.ReferenceFlow(prior, 80, 0.002, steps: 2000);
        var gap = (coarse - fine).abs().max().item<double>();
        output.WriteLine($"RK4 reference, 1000 vs 2000 steps: {gap:E2}");
        Assert.True(gap < 1e-8, $"the reference moved by {gap:E2} when its steps doubled");
    }

    [Fact]
    public void A_solver_without_its_second_order_correction_fails_the_order_test()
    {
        var (_, order) = Convergence("broken-heun", "vp", SigmaGridKind.Karras);
        Assert.False(order >= Solver("broken-heun").Order - 0.3, $"the broken solver measured order {order:F2}");
    }

    [Theory]
    [InlineData("vp")]
    [InlineData("subvp")]
    [InlineData("ve")]
    public void The_correspondence_inverts_and_the_network_denoiser_is_the_exact_one(string kind)
    {
        var sde = Make(kind);
        var schedule = SigmaSchedule.For(Process(kind));
        foreach (var t in new[] { 1e-3, 0.01, 0.3, 0.7, 1.0 })
        {
            var (alpha, s) = sde.Marginal(t);
            Assert.Equal(s / alpha, schedule.Sigma(t), 1e-9 * s / alpha);
            Assert.Equal(t, schedule.Time(schedule.Sigma(t)), 1e-12);
            Assert.Equal(alpha, schedule.Alpha(schedule.Sigma(t)), 1e-12);
        }
        var denoiser = Denoisers.From(ExactEpsilonNetwork(sde), Prediction.Epsilon, schedule);
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        foreach (var sigma in new[] { schedule.SigmaMin, 0.5, 3.0, schedule.SigmaMax })
        {
            var x = torch.randn([16, 2], g, ScalarType.Float64) * sigma;
            Assert.True((denoiser(x, sigma) - ExactDenoiser(x, sigma)).abs().max().item<double>() < 1e-9);
        }
    }

    [Fact]
    public void Ddpm_sigmas_interpolate_between_steps_and_invert()
    {
        var schedule = DdpmSchedule.Linear();
        var sigmas = new DdpmSigmas(schedule);
        foreach (var k in new[] { 0, 1, 10, 500, 999 })
        {
            var bar = schedule.AlphasCumprod[k];
            Assert.Equal(Math.Sqrt((1 - bar) / bar), sigmas.Sigma(k), 1e-12);
            Assert.Equal(k, sigmas.Time(sigmas.Sigma(k)), 1e-9);
            Assert.Equal(Math.Sqrt(bar), sigmas.Alpha(sigmas.Sigma(k)), 1e-12);
        }
        Assert.Equal(10.25, sigmas.Time(sigmas.Sigma(10.25)), 1e-9);
        Assert.Equal(10, new DdpmSigmas(schedule, Quantize: true).Time(sigmas.Sigma(10.25)));
        Assert.Equal(0, sigmas.Time(sigmas.SigmaMin / 2));                            // clamped below the first step
    }

    [Fact]
    public void Grids_are_descending_with_the_configured_ends_and_a_final_zero()
    {
        var schedule = SigmaSchedule.For(Process("vp"));
        foreach (var kind in Enum.GetValues<SigmaGridKind>())
        {
            var s = SigmaGrids.Make(kind, 10, schedule);
            Assert.Equal(11, s.Length);
            Assert.Equal(schedule.SigmaMax, s[0], 1e-9 * s[0]);
            Assert.Equal(schedule.SigmaMin, s[^2], 1e-9);
            Assert.Equal(0, s[^1]);
            Assert.True(s.Zip(s.Skip(1)).All(p => p.First > p.Second));
        }
        var logSnr = SigmaGrids.LogSnr(5, 0.01, 100);
        Assert.Equal(Math.Log(logSnr[0]) - Math.Log(logSnr[1]), Math.Log(logSnr[2]) - Math.Log(logSnr[3]), 1e-12);
        var karras = SigmaGrids.Karras(3, 0.002, 80);                                   // ρ = 7: the middle level
        Assert.Equal(Math.Pow((Math.Pow(80, 1 / 7.0) + Math.Pow(0.002, 1 / 7.0)) / 2, 7), karras[1], 1e-12);
    }

    [Theory]
    [InlineData("euler", 18)]
    [InlineData("edm-heun", 35)]
    [InlineData("dpmpp-2m", 18)]
    [InlineData("unipc-2", 18)]
    [InlineData("unipc-3", 18)]
    public void Nfe_is_counted_as_the_papers_count_it(string solver, int nfe)
    {
        var schedule = SigmaSchedule.For(Process("vp"));
        var calls = 0;
        var denoiser = Denoisers.From(ExactEpsilonNetwork(new VpSde(), () => calls++), Prediction.Epsilon, schedule);
        using var g = new Generator(1);
        var sigmas = SigmaGrids.Make(SigmaGridKind.Karras, 18, schedule);
        var (x, counted) = Solver(solver).Run(denoiser, torch.randn([4, 2], g, ScalarType.Float64) * sigmas[0], sigmas);
        x.Dispose();
        Assert.Equal(nfe, counted);
        Assert.Equal(nfe, calls);
    }

    /// <summary>Sample mean and covariance of the stochastic samplers within 5 standard errors of N(μ, Σ).</summary>
    [Theory]
    [InlineData("edm-sde", "vp")]
    [InlineData("edm-sde", "ve")]
    [InlineData("dpmpp-2m-sde", "vp")]
    [InlineData("dpmpp-2m-sde", "ve")]
    public void A_stochastic_sampler_draws_the_target_distribution(string solver, string kind)
    {
        const int n = 20000;
        var schedule = SigmaSchedule.For(Process(kind));
        var denoiser = Denoisers.From(ExactEpsilonNetwork(Make(kind)), Prediction.Epsilon, schedule);
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        var sigmas = SigmaGrids.Make(SigmaGridKind.Karras, 100, schedule);
        var prior = torch.randn([n, 2], g, ScalarType.Float64) * sigmas[0];
        var (x, _) = solver == "edm-sde"
            ? SigmaSamplers.EdmHeun(denoiser, prior, sigmas, EdmChurn.ImageNet with { Noise = 1 }, g)
            : SigmaSamplers.DpmPlusPlus2MSde(denoiser, prior, sigmas, 1, g);
        var mean = x.mean(0);
        var centred = x - mean;
        var cov = centred.T.matmul(centred) / (n - 1);
        output.WriteLine($"{solver} {kind}: mean {string.Join(", ", mean.ToArray<double>().Select(v => v.ToString("F4")))}, cov {string.Join(", ", cov.flatten().ToArray<double>().Select(v => v.ToString("F4")))}");
        for (var d = 0; d < 2; d++)
        {
            Assert.InRange(mean[d].item<double>(), Mu[d] - 5 * Math.Sqrt(Cov[d, d] / n), Mu[d] + 5 * Math.Sqrt(Cov[d, d] / n));
            for (var e = 0; e < 2; e++)
            {
                var se = Math.Sqrt((Cov[d, d] * Cov[e, e] + Cov[d, e] * Cov[d, e]) / n);     // SE of a Gaussian sample covariance
                Assert.InRange(cov[d, e].item<double>(), Cov[d, e] - 5 * se, Cov[d, e] + 5 * se);
            }
        }
        x.Dispose();
    }

    [Theory]
    [InlineData(SamplerKind.EdmHeun)]
    [InlineData(SamplerKind.EdmSde)]
    [InlineData(SamplerKind.DpmPlusPlus2M)]
    [InlineData(SamplerKind.DpmPlusPlus2MSde)]
    [InlineData(SamplerKind.UniPc)]
    [InlineData(SamplerKind.Euler)]
    public void Same_seed_gives_bitwise_the_same_samples_on_every_process(SamplerKind kind)
    {
        foreach (var process in new[] { DiffusionProcess.Create(ProcessKind.Vp), DiffusionProcess.Create(ProcessKind.Ve), DiffusionProcess.Create(ProcessKind.Ddpm) })
        {
            NetworkFn network = process.Sde is { } sde
                ? (x, t) => ExactEpsilonNetwork(sde)(x.@double(), t.@double()).@float()
                : (x, t) => GaussianSamplerTests.ExactNoise(process.Schedule!)(x, t.round().@long());
            SampleResult Run(ulong seed)
            {
                using var g = new Generator(seed);
                return Samplers.Run(kind, process, network, Prediction.Epsilon, [64, 2], 12, g, recordAt: [1000, 0.5, 0]);
            }
            using var a = Run(5);
            using var b = Run(5);
            using var c = Run(6);
            Assert.True(a.Samples.equal(b.Samples));
            Assert.False(a.Samples.equal(c.Samples));
            Assert.Equal(3, a.Trajectory.Count);
            Assert.True(a.Trajectory[^1].X.equal(a.Samples));
            Assert.Null(Samplers.Incompatibility(kind, process));
        }
    }
}
