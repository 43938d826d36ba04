using Diffusion.Torch;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// A 2-D Gaussian mixture Σ_k w_k·N(μ_k, s_k²I) with everything about it in closed form, in float64, for the
/// convergence study beside <see cref="GaussianData"/>: unlike a Gaussian its denoiser is nonlinear in x, so a solver's
/// order is measured where the flow is curved. In the VE form x_σ = x₀ + σn the marginal is Σ_k w_k·N(μ_k, v_kI) with
/// v_k = s_k² + σ², and the exact denoiser is the posterior mixture of the components' Wiener filters,
/// D(x; σ) = Σ_k r_k(x)·(μ_k + s_k²/v_k·(x − μ_k)), r_k ∝ w_k·v_k^{−1}·exp(−|x − μ_k|²/(2v_k)) (2-D normaliser).
/// The probability-flow ODE has no closed-form solution here, so <see cref="ReferenceFlow"/> integrates it by classical
/// RK4 in u = ln σ (dx/du = x − D(x; eᵘ)), 1,000 steps, whose error (~10⁻⁹) is far below every solver's.
/// </summary>
public static class GaussianMixtureData
{
    public static readonly double[] Weights = [0.5, 0.3, 0.2];
    public static readonly double[,] Means = { { -1.0, 0.0 }, { 1.0, 0.5 }, { 0.0, -1.0 } };
    public static readonly double[] Stds = [0.3, 0.5, 0.2];

    /// <summary>The exact denoiser (N, 2) → (N, 2).</summary>
    public static DenoiserFn ExactDenoiser => (x, sigma) =>
    {
        using var scope = torch.NewDisposeScope();
        var mu = torch.tensor(Means);                                                   // (K, 2)
        var s2 = torch.tensor(Stds.Select(s => s * s).ToArray());                       // (K)
        var v = s2 + sigma * sigma;                                                     // (K)
        var diff = x.unsqueeze(1) - mu.unsqueeze(0);                                    // (N, K, 2)
        var logits = torch.tensor(Weights).log() - v.log() - diff.square().sum(2) / (v * 2); // (N, K)
        var r = torch.nn.functional.softmax(logits, 1);  // (N, K)
        var filtered = mu.unsqueeze(0) + diff * (s2 / v).reshape(1, -1, 1);             // (N, K, 2)
        return (r.unsqueeze(2) * filtered).sum(1).MoveToOuterDisposeScope();
    };

    /// <summary>E[ε | x_t] = (x_σ − D(x_σ; σ))/σ with σ = s/α, x_σ = x_t/α, at the SDE time the network input t·999 encodes.</summary>
    public static NetworkFn ExactEpsilonNetwork(ForwardSde sde, Action? onCall = null) => (x, networkTime) =>
    {
        onCall?.Invoke();
        using var scope = torch.NewDisposeScope();
        var (alpha, s) = sde.Marginal(networkTime[0].item<double>() / Schedules.NetworkTime.ContinuousScale);
        var sigma = s / alpha;
        var xs = x / alpha;
        return ((xs - ExactDenoiser(xs, sigma)) / sigma).MoveToOuterDisposeScope();
    };

    /// <summary>The exact endpoint of a solver that ends with x = D(x; σ_last): D of <see cref="ReferenceFlow"/> from σ₀ to σ_last.</summary>
    public static Tensor ReferenceEndpoint(Tensor prior, double from, double last)
    {
        using var flow = ReferenceFlow(prior, from, last);
        return ExactDenoiser(flow, last);
    }

    /// <summary>The probability-flow solution from σ = <paramref name="from"/> to <paramref name="to"/> by RK4 with <paramref name="steps"/> equal steps in ln σ.</summary>
    public static Tensor ReferenceFlow(Tensor x, double from, double to, int steps = 1000)
    {
        var h = (Math.Log(to) - Math.Log(from)) / steps;
        var current = x.alias();
        for (var i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            var u = Math.Log(from) + i * h;
            Tensor F(Tensor y, double at) => y - ExactDenoiser(y, Math.Exp(at));          // dx/du
            var k1 = F(current, u);
            var k2 = F(current + k1 * (h / 2), u + h / 2);
            var k3 = F(current + k2 * (h / 2), u + h / 2);
            var k4 = F(current + k3 * h, u + h);
            current = State.Replace(current, current + (k1 + k2 * 2 + k3 * 2 + k4) * (h / 6));
        }
        return current;
    }
}
