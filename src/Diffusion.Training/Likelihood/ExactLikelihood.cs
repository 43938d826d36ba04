using Diffusion.Torch;
using Diffusion.Training.Names;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Likelihood;

/// <summary>How ∇·f̃ is computed at each ODE evaluation.</summary>
public enum TraceEstimator { Rademacher, Gaussian, Exact }

public static class TraceEstimators
{
    public static readonly NameList<TraceEstimator> Names = new("trace estimator",
        new(TraceEstimator.Rademacher, "rademacher", "Hutchinson–Skilling with ±1 probes (score_sde's default)"),
        new(TraceEstimator.Gaussian, "gaussian", "Hutchinson–Skilling with N(0, I) probes"),
        new(TraceEstimator.Exact, "exact", "the exact trace from D vector–Jacobian products (small D only)"));
}

/// <summary>
/// Settings of <see cref="ExactLikelihood.Evaluate"/>: the trace estimator and its number of probes (averaged), the
/// RK45 tolerances, the start time ε (score_sde's likelihood.py default 1e-5) and an NFE cap.
/// </summary>
public sealed record LikelihoodOptions(TraceEstimator Estimator = TraceEstimator.Rademacher, int Probes = 1,
    double Rtol = 1e-5, double Atol = 1e-5, double Eps = 1e-5, int MaxNfe = 100_000);

/// <summary>
/// Per-point results (N) in nats: <see cref="Nll"/> = −(<see cref="PriorLogp"/> + <see cref="DeltaLogp"/>), the
/// latent x(T) (N, …) and the RK45 evaluations spent (each one forward pass and one VJP per probe). Owns its tensors.
/// </summary>
public sealed record LikelihoodResult(Tensor Nll, Tensor PriorLogp, Tensor DeltaLogp, Tensor Latent, int Nfe) : IDisposable
{
    /// <summary>Data dimensions D of one point.</summary>
    public long Dims => Latent.numel() / Latent.shape[0];

    public void Dispose()
    {
        Nll.Dispose();
        PriorLogp.Dispose();
        DeltaLogp.Dispose();
        Latent.Dispose();
    }
}

/// <summary>
/// Exact likelihood by the probability-flow ODE (Song et al. 2021, "Score-Based Generative Modeling through SDEs",
/// eq. 39 and App. D.2; yang-song/score_sde_pytorch@cb1f359 likelihood.py, <c>get_likelihood_fn</c>):
/// log p_ε(x) = log p_T(x(T)) + ∫_ε^T ∇·f̃(x(t), t) dt along dx/dt = f̃(x, t) = f(x, t) − ½g(t)²·s(x, t), x(ε) = x.
/// x and Δlog p are integrated jointly, one state (N, D + 1) as score_sde's concatenated vector, on
/// <see cref="ProbabilityFlow"/>'s adaptive RK45. ∇·f̃ is the Hutchinson–Skilling estimate E_v[vᵀ(∂f̃/∂x)v]
/// (score_sde's <c>get_div_fn</c>: one VJP per probe), with probes drawn once per point and kept along the path, or
/// the exact trace.
/// </summary>
public static class ExactLikelihood
{
    /// <summary>
    /// −log p(x) per point (N) of <paramref name="x"/> (N, …) under the model whose score is <paramref name="score"/>.
    /// Probes come from <paramref name="generator"/>; the computation runs in x's dtype.
    /// </summary>
    public static LikelihoodResult Evaluate(ForwardSde sde, ScoreFn score, Tensor x, Generator generator, LikelihoodOptions? options = null)
    {
        var o = options ?? new LikelihoodOptions();
        if (o.Probes < 1) throw new ArgumentOutOfRangeException(nameof(options), $"probes {o.Probes}: need at least one");
        if (o.Eps <= 0 || o.Eps >= ForwardSde.T) throw new ArgumentOutOfRangeException(nameof(options), $"eps {o.Eps}: need 0 < ε < T");
        var shape = x.shape;
        var n = shape[0];
        var d = x.numel() / n;
        var ode = sde.Reverse(score, probabilityFlow: true);
        using var noGrad = torch.no_grad();
        using var outer = torch.NewDisposeScope();
        // Probes fixed per point along the path (score_sde draws one epsilon before solve_ivp).
        var probes = o.Estimator switch
        {
            TraceEstimator.Rademacher => Enumerable.Range(0, o.Probes)
                .Select(_ => torch.randint(0, 2, shape, generator).to(x.dtype) * 2 - 1).ToArray(),
            TraceEstimator.Gaussian => Enumerable.Range(0, o.Probes).Select(_ => torch.randn(shape, generator, x.dtype, x.device)).ToArray(),
            _ => [],
        };
        Tensor Derivative(Tensor y, double t)
        {
            using var scope = torch.NewDisposeScope();
            var xt = y.narrow(1, 0, d).reshape(shape);
            Tensor Drift(Tensor z) => ode.Drift(z, torch.full([n], t, x.dtype, x.device));
            var (drift, div) = o.Estimator == TraceEstimator.Exact ? ExactDivergence(Drift, xt) : HutchinsonDivergence(Drift, xt, probes);
            return torch.cat([drift.reshape(n, d), div.unsqueeze(1)], 1).MoveToOuterDisposeScope();
        }
        var y0 = torch.cat([x.reshape(n, d), torch.zeros([n, 1], x.dtype, x.device)], 1).DetachFromDisposeScope();
        var (y, nfe) = ProbabilityFlow.Integrate(Derivative, y0, o.Eps, ForwardSde.T, o.Rtol, o.Atol, o.MaxNfe);
        Tensor latent, delta;
        using (y) // held outside scopes by the integrator; the results below are copies
        {
            latent = y.narrow(1, 0, d).reshape(shape).contiguous();
            delta = y.narrow(1, d, 1).reshape(n).contiguous();
        }
        var prior = sde.PriorLogp(latent);
        var nll = -(prior + delta);
        outer.MoveToOuter(nll, prior, delta, latent);
        return new LikelihoodResult(nll, prior, delta, latent, nfe);
    }

    /// <summary>
    /// f(x) and the Hutchinson–Skilling estimate of ∇·f per point, (1/K)Σₖ vₖᵀ(∂f/∂x)vₖ: one forward pass and one
    /// vector–Jacobian product vₖᵀ∂f/∂x per probe (score_sde's <c>get_div_fn</c>). Both results are detached.
    /// </summary>
    public static (Tensor F, Tensor Div) HutchinsonDivergence(Func<Tensor, Tensor> f, Tensor x, IReadOnlyList<Tensor> probes)
    {
        if (probes.Count == 0) throw new ArgumentException("need at least one probe", nameof(probes));
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var xr = x.detach().requires_grad_();
        var fx = f(xr);
        var dims = Enumerable.Range(1, (int)x.dim() - 1).Select(i => (long)i).ToArray();
        Tensor? sum = null;
        for (var k = 0; k < probes.Count; k++)
        {
            var vjp = torch.autograd.grad(fx, xr, probes[k], retainGraph: k < probes.Count - 1);
            var term = (vjp * probes[k]).sum(dims);
            sum = sum is null ? term : sum + term;
        }
        var div = (sum! / probes.Count).detach();
        var value = fx.detach();
        scope.MoveToOuter(value, div);
        return (value, div);
    }

    /// <summary>f(x) and the exact ∇·f per point: D vector–Jacobian products with the unit vectors eᵢ, summing (eᵢᵀ∂f/∂x)ᵢ.</summary>
    public static (Tensor F, Tensor Div) ExactDivergence(Func<Tensor, Tensor> f, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var n = x.shape[0];
        var d = x.numel() / n;
        var xr = x.detach().requires_grad_();
        var fx = f(xr);
        Tensor div = torch.zeros([n], x.dtype, x.device);
        for (var i = 0; i < d; i++)
        {
            var e = torch.zeros([n, d], x.dtype, x.device);
            e.narrow(1, i, 1).fill_(1);
            var vjp = torch.autograd.grad(fx, xr, e.reshape(x.shape), retainGraph: i < d - 1);
            div = div + vjp.reshape(n, d).narrow(1, i, 1).reshape(n);
        }
        var value = fx.detach();
        div = div.detach();
        scope.MoveToOuter(value, div);
        return (value, div);
    }

    /// <summary>
    /// Bits per dimension of a negative log-likelihood <paramref name="nll"/> (nats per data point) over
    /// <paramref name="dims"/> dimensions, for data that are 8-bit integers k uniformly dequantised to (k + u)/256 and
    /// rescaled to an interval of width <paramref name="dataWidth"/> (2 for [−1, 1]): the change of variables back to
    /// [0, 256) adds D·log(256 / width), so bpd = (NLL + D·log(256/width)) / (D·ln 2). For [−1, 1] that is +7 bits and
    /// for [0, 1] +8, score_sde's <c>offset = 7 − inverse_scaler(−1)</c> (likelihood.py@cb1f359). Pass
    /// <paramref name="dataWidth"/> = null for continuous data (no offset).
    /// </summary>
    public static double BitsPerDim(double nll, long dims, double? dataWidth)
    {
        var offset = dataWidth is { } w ? dims * Math.Log(256 / w) : 0;
        return (nll + offset) / (dims * Math.Log(2));
    }

    /// <summary>
    /// Uniform dequantisation of 8-bit data held in [low, high] as low + (high − low)·k/255 (our image sets): k is
    /// recovered by rounding, then x = low + (high − low)·(k + u)/256 with u ~ U[0, 1) per entry (score_sde
    /// datasets.py@cb1f359: <c>(uniform + img·255)/256</c>, then the data scaler).
    /// </summary>
    public static Tensor Dequantize(Tensor x, double low, double high, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        var k = ((x - low) * (255 / (high - low))).round().clamp(0, 255);
        var u = torch.rand(x.shape, generator, x.dtype, x.device);
        return ((k + u) * ((high - low) / 256) + low).MoveToOuterDisposeScope();
    }
}
