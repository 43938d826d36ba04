using Diffusion.Torch;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// 2-D Gaussian data N(μ, Σ) (full covariance) with everything about it in closed form, in float64. In the VE form
/// x_σ = x₀ + σn the marginal is N(μ, Σ + σ²I), the exact denoiser is D(x; σ) = μ + (Σ + σ²I)⁻¹Σ(x − μ), and the
/// probability-flow ODE dx/dσ = (x − D)/σ = σ(Σ + σ²I)⁻¹(x − μ) (Karras et al. 2022 eq. 3 with σ(t) = t) is solved in
/// Σ's eigenbasis by y(σ) = √(λ + σ²)·c, so its flow map is the affine x(σ₁) = μ + (Σ + σ₁²I)^{½}(Σ + σ₀²I)^{−½}(x(σ₀) − μ)
/// (the map between the Gaussians N(μ, Σ + σ₀²I) → N(μ, Σ + σ₁²I) that commutes with Σ; cf. Song et al. 2021 eq. 13
/// for linear SDEs). <see cref="ExactEpsilonNetwork"/> is the exact ε-predictor in a process's own time, written with
/// the SDE classes, so a denoiser built on it goes through the σ(t) correspondence.
/// </summary>
public static class GaussianData
{
    public static readonly double[] Mu = [1.0, -0.5];
    public static readonly double[,] Cov = { { 0.5, 0.2 }, { 0.2, 0.3 } };

    /// <summary>f(Σ + s·I) for a function of the eigenvalues.</summary>
    public static double[,] Spectral(double shift, Func<double, double> f)
    {
        var (a, b, c) = (Cov[0, 0] + shift, Cov[0, 1], Cov[1, 1] + shift);
        var mean = (a + c) / 2;
        var rad = Math.Sqrt((a - c) * (a - c) / 4 + b * b);
        var (l1, l2) = (mean + rad, mean - rad);
        var theta = 0.5 * Math.Atan2(2 * b, a - c);
        var (cs, sn) = (Math.Cos(theta), Math.Sin(theta));
        var (f1, f2) = (f(l1), f(l2));
        return new[,] { { f1 * cs * cs + f2 * sn * sn, (f1 - f2) * cs * sn }, { (f1 - f2) * cs * sn, f1 * sn * sn + f2 * cs * cs } };
    }

    private static double[,] Mul(double[,] p, double[,] q) => new[,]
    {
        { p[0, 0] * q[0, 0] + p[0, 1] * q[1, 0], p[0, 0] * q[0, 1] + p[0, 1] * q[1, 1] },
        { p[1, 0] * q[0, 0] + p[1, 1] * q[1, 0], p[1, 0] * q[0, 1] + p[1, 1] * q[1, 1] },
    };

    /// <summary>μ + (x − μ)·Mᵀ for rows x (N, 2).</summary>
    private static Tensor Affine(Tensor x, double[,] m)
    {
        using var scope = torch.NewDisposeScope();
        var mu = torch.tensor(Mu, [1, 2]);
        var mt = torch.tensor(new[,] { { m[0, 0], m[1, 0] }, { m[0, 1], m[1, 1] } });
        return (mu + (x - mu).matmul(mt)).MoveToOuterDisposeScope();
    }

    /// <summary>The exact denoiser (Σ + σ²I)⁻¹Σ, applied affinely.</summary>
    public static DenoiserFn ExactDenoiser => (x, sigma) => Affine(x, Mul(Spectral(sigma * sigma, l => 1 / l), Spectral(0, l => l)));

    /// <summary>The exact probability-flow solution from σ₀ to σ₁.</summary>
    public static Tensor Flow(Tensor x, double from, double to) =>
        Affine(x, Mul(Spectral(to * to, Math.Sqrt), Spectral(from * from, l => 1 / Math.Sqrt(l))));

    /// <summary>E[ε | x_t] = s·(α²Σ + s²I)⁻¹(x_t − αμ) at the SDE time the network input t·999 encodes.</summary>
    public static NetworkFn ExactEpsilonNetwork(ForwardSde sde, Action? onCall = null) => (x, networkTime) =>
    {
        onCall?.Invoke();
        using var scope = torch.NewDisposeScope();
        var t = networkTime[0].item<double>() / NetworkTime.ContinuousScale;
        var alpha = sde.MeanCoefficient(torch.full([1], t, ScalarType.Float64)).item<double>();
        var s = sde.Std(torch.full([1], t, ScalarType.Float64)).item<double>();
        var m = Spectral(0, l => s / (alpha * alpha * l + s * s));                    // s(α²Σ + s²I)⁻¹
        var mu = torch.tensor(Mu, [1, 2]) * alpha;
        var mt = torch.tensor(new[,] { { m[0, 0], m[1, 0] }, { m[0, 1], m[1, 1] } });
        return (x - mu).matmul(mt).MoveToOuterDisposeScope();
    };
}

/// <summary>Closed-form data of the convergence study: <see cref="GaussianData"/> or <see cref="GaussianMixtureData"/>.</summary>
public enum ConvergenceData { Gaussian, Mixture }

public static class ConvergenceDataSets
{
    /// <summary>The names of <c>diffusion samplers --data</c>.</summary>
    public static readonly Names.NameList<ConvergenceData> Names = new("convergence data",
        new(ConvergenceData.Gaussian, "gaussian", "N(μ, Σ), exact flow in closed form"),
        new(ConvergenceData.Mixture, "mixture", "3-component Gaussian mixture, closed-form denoiser, RK4 reference flow", "gmm"));
}

/// <summary>A deterministic σ-space solver: takes ownership of x at σ₀ and returns the state at the last level with its NFE.</summary>
public delegate (Tensor X, int Nfe) SigmaSolver(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas);

/// <summary>One measurement: a solver at a step count, its NFE, and its max-abs error against the exact PF-ODE endpoint.</summary>
public sealed record ConvergencePoint(string Sampler, int Steps, int Nfe, double Error);

/// <summary>A solver's points and its fitted order −d log err / d log NFE (least squares over the points with Steps ≥ the fit's start).</summary>
public sealed record ConvergenceSeries(string Sampler, double ExpectedOrder, IReadOnlyList<ConvergencePoint> Points, double Order);

/// <summary>
/// Convergence of the deterministic σ-space samplers to the exact probability-flow endpoint on <see cref="GaussianData"/>
/// (or <see cref="GaussianMixtureData"/>): each solver runs from the same prior draws (σ_max·z, seeded) at increasing
/// step counts, with the exact ε-network of the process behind <see cref="Denoisers.From(NetworkFn, Prediction, SigmaSchedule)"/>.
/// Every solver's last step (to σ = 0) is x = D(x; σ_last), so the exact answer is D of the exact flow from σ₀ to
/// σ_last — the closed-form flow for a Gaussian, an RK4 reference with 1,000 steps in ln σ for the mixture (every grid
/// of a study shares σ₀ and σ_last, so it is solved once).
/// </summary>
public static class SamplerConvergence
{
    /// <summary>The deterministic solvers and their orders (Euler = DDIM: first). UniC raises UniP-p's order by one (Zhao et al. 2023 Thm 3.1–3.2): UniPC-2 is third order, UniPC-3 fourth.</summary>
    public static readonly IReadOnlyList<(string Name, SigmaSolver Run, double Order)> Solvers =
    [
        ("euler", (d, x, s) => SigmaSamplers.Euler(d, x, s), 1),
        ("edm-heun", (d, x, s) => SigmaSamplers.EdmHeun(d, x, s), 2),
        ("dpmpp-2m", (d, x, s) => SigmaSamplers.DpmPlusPlus2M(d, x, s), 2),
        ("unipc-2", (d, x, s) => SigmaSamplers.UniPc(d, x, s, order: 2), 3),
        ("unipc-3", (d, x, s) => SigmaSamplers.UniPc(d, x, s, order: 3, lowerOrderFinal: false), 4),
    ];

    /// <summary>The step counts the orders are fitted on (the asymptotic range on the Karras grid).</summary>
    public static readonly int[] FitSteps = [16, 32, 64, 128];

    /// <summary>The step counts of the plot: 4 … 128.</summary>
    public static readonly int[] PlotSteps = [4, 8, 16, 32, 64, 128];

    public static (string Name, SigmaSolver Run, double Order) Solver(string name) =>
        Solvers.FirstOrDefault(s => s.Name == name) is { Run: not null } found ? found
            : throw new ArgumentException($"unknown solver '{name}' (known: {string.Join(", ", Solvers.Select(s => s.Name))})");

    /// <summary>Max-abs errors of <paramref name="solver"/> over <paramref name="samples"/> prior draws at each step count, and the fitted order.</summary>
    public static ConvergenceSeries Measure(string name, SigmaSolver solver, double expectedOrder, ProcessKind process,
        SigmaGridKind grid, IReadOnlyList<int> steps, int fitFrom = 16, int samples = 64, ulong seed = 7, ConvergenceData data = ConvergenceData.Gaussian)
    {
        var p = DiffusionProcess.Create(process);
        if (p.Sde is null || p.Preconditioning is not null) throw new ArgumentException("the closed-form convergence study needs a score-matching SDE (vp, subvp or ve)");
        var schedule = SigmaSchedule.For(p);
        var network = data == ConvergenceData.Mixture ? GaussianMixtureData.ExactEpsilonNetwork(p.Sde) : GaussianData.ExactEpsilonNetwork(p.Sde);
        var denoiser = Denoisers.From(network, Prediction.Epsilon, schedule);
        var points = new List<ConvergencePoint>();
        Tensor? reference = null;                                                      // the mixture's endpoint, shared by every grid
        foreach (var n in steps)
        {
            using var scope = torch.NewDisposeScope();
            var sigmas = SigmaGrids.Make(grid, n, schedule);
            using var g = new Generator(seed);
            var prior = torch.randn([samples, 2], g, ScalarType.Float64) * sigmas[0];
            var last = sigmas[^2];
            var exact = data == ConvergenceData.Mixture
                ? reference ??= GaussianMixtureData.ReferenceEndpoint(prior, sigmas[0], last).DetachFromDisposeScope()
                : GaussianData.ExactDenoiser(GaussianData.Flow(prior, sigmas[0], last), last);
            var (x, nfe) = solver(denoiser, prior.clone(), sigmas);
            points.Add(new ConvergencePoint(name, n, nfe, (x - exact).abs().max().item<double>()));
            x.Dispose();
        }
        reference?.Dispose();
        var fit = points.Where(q => q.Steps >= fitFrom).ToArray();
        if (fit.Length < 2) fit = points.ToArray();
        return new ConvergenceSeries(name, expectedOrder, points, -Slope(fit.Select(q => Math.Log(q.Nfe)).ToArray(), fit.Select(q => Math.Log(q.Error)).ToArray()));
    }

    /// <summary>Every solver of <see cref="Solvers"/> on one process and grid.</summary>
    public static IReadOnlyList<ConvergenceSeries> MeasureAll(ProcessKind process, SigmaGridKind grid = SigmaGridKind.Karras,
        IReadOnlyList<int>? steps = null, int fitFrom = 16, ConvergenceData data = ConvergenceData.Gaussian) =>
        Solvers.Select(s => Measure(s.Name, s.Run, s.Order, process, grid, steps ?? PlotSteps, fitFrom, data: data)).ToArray();

    /// <summary>The least-squares slope of y on x.</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (mx, my) = (x.Average(), y.Average());
        return x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / x.Sum(a => (a - mx) * (a - mx));
    }
}
