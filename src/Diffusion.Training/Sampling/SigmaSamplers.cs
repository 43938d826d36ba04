using Diffusion.Torch;

namespace Diffusion.Training.Sampling;

/// <summary>EDM's stochasticity (Karras et al. 2022 Alg. 2): S_churn, S_tmin, S_tmax, S_noise.</summary>
public sealed record EdmChurn(double Churn = 80, double TMin = 0.05, double TMax = 50, double Noise = 1.003)
{
    /// <summary>EDM Table 5's ImageNet-64 settings (S_churn 80, S_tmin 0.05, S_tmax 50, S_noise 1.003).</summary>
    public static EdmChurn ImageNet => new();
}

/// <summary>
/// Samplers over a descending σ grid (<see cref="SigmaGrids"/>, last level possibly 0) on a denoiser D(x; σ), in the
/// variance-exploding form x = x₀ + σ·n, each a short function as in k-diffusion's sampling.py
/// (crowsonkb/k-diffusion @4601bf085320592473f681a62808ed873d17fad5). Each takes ownership of <c>x</c> (the draw at
/// σ₀, freed as it advances) and returns the final state outside every dispose scope with its NFE;
/// <c>observe(i, x)</c> sees the state at σ_i. Noise comes from <c>generator</c> in x's dtype.
/// </summary>
public static class SigmaSamplers
{
    /// <summary>
    /// EDM Heun (Karras et al. 2022 Alg. 1; with <paramref name="churn"/> Alg. 2; k-diffusion's <c>sample_heun</c>):
    /// γ = min(S_churn/n, √2 − 1) for σ_i ∈ [S_tmin, S_tmax], σ̂ = σ_i(1 + γ), x̂ = x + S_noise·√(σ̂² − σ_i²)·z;
    /// d = (x̂ − D(x̂; σ̂))/σ̂ (the PF-ODE dx/dσ, EDM eq. 3 with σ(t) = t), Euler to σ_{i+1}, then the trapezoidal
    /// correction with d' at σ_{i+1} unless σ_{i+1} = 0. NFE = 2n − 1 on a grid ending at 0.
    /// </summary>
    public static (Tensor X, int Nfe) EdmHeun(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas,
        EdmChurn? churn = null, Generator? generator = null, Action<int, Tensor>? observe = null)
    {
        if (churn is not null && generator is null) throw new ArgumentException("a churned (stochastic) sampler needs a generator");
        var nfe = 0;
        var n = sigmas.Count - 1;
        for (var i = 0; i < n; i++)
        {
            using var scope = torch.NewDisposeScope();
            var (sigma, next) = (sigmas[i], sigmas[i + 1]);
            var gamma = churn is { } c && sigma >= c.TMin && sigma <= c.TMax ? Math.Min(c.Churn / n, Math.Sqrt(2) - 1) : 0;
            var hat = sigma * (1 + gamma);
            var xHat = gamma > 0 ? x + torch.randn(x.shape, generator!, x.dtype) * (churn!.Noise * Math.Sqrt(hat * hat - sigma * sigma)) : x.alias();
            var d = (xHat - denoiser(xHat, hat)) / hat;
            nfe++;
            var dt = next - hat;
            var euler = xHat + d * dt;
            Tensor result;
            if (next == 0) result = euler;                                        // Euler on the last step to σ = 0
            else
            {
                var d2 = (euler - denoiser(euler, next)) / next;
                nfe++;
                result = xHat + (d + d2) * (dt / 2);
            }
            x = State.Replace(x, result);
            observe?.Invoke(i + 1, x);
        }
        return (x, nfe);
    }

    /// <summary>
    /// Euler over the σ grid (k-diffusion's <c>sample_euler</c> without churn): d = (x − D(x; σ_i))/σ_i, the PF-ODE
    /// dx/dσ (Karras et al. 2022 eq. 3 with σ(t) = t), and x ← x + d·(σ_{i+1} − σ_i) = D + (σ_{i+1}/σ_i)(x − D). This is
    /// DDIM with η = 0 (Song et al. 2021a eq. 12) written in x/α: with x_σ = x/√ᾱ, x̂₀ = D and ε̂ = (x_σ − D)/σ, DDIM's
    /// √ᾱ'x̂₀ + √(1 − ᾱ')ε̂ divided by √ᾱ' is D + σ'ε̂ (Karras et al. 2022 §3; DPM-Solver++ of order 1, Lu et al. 2022) —
    /// so it runs DDIM's update on every process. First order; one NFE per step.
    /// </summary>
    public static (Tensor X, int Nfe) Euler(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas, Action<int, Tensor>? observe = null)
    {
        for (var i = 0; i < sigmas.Count - 1; i++)
        {
            using var scope = torch.NewDisposeScope();
            var (sigma, next) = (sigmas[i], sigmas[i + 1]);
            var d = (x - denoiser(x, sigma)) / sigma;                                   // dx/dσ at σ_i
            x = State.Replace(x, x + d * (next - sigma));
            observe?.Invoke(i + 1, x);
        }
        return (x, sigmas.Count - 1);
    }

    /// <summary>
    /// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Alg. 2; k-diffusion's <c>sample_dpmpp_2m</c>): with λ = −log σ,
    /// h = λ_{i+1} − λ_i, r = h_{i−1}/h, D' = (1 + 1/(2r))·D_i − 1/(2r)·D_{i−1} (D' = D_i on the first step and the
    /// step to σ = 0), x ← (σ_{i+1}/σ_i)·x − (e^{−h} − 1)·D'. One NFE per step.
    /// </summary>
    public static (Tensor X, int Nfe) DpmPlusPlus2M(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas, Action<int, Tensor>? observe = null) =>
        DpmPlusPlus2MSde(denoiser, x, sigmas, eta: 0, generator: null, observe: observe);

    /// <summary>
    /// DPM-Solver++(2M) SDE, midpoint form (Lu et al. 2022 §4 / Appendix; k-diffusion's <c>sample_dpmpp_2m_sde</c>,
    /// solver_type 'midpoint'): x ← (σ_{i+1}/σ_i)·e^{−ηh}·x + (1 − e^{−(1+η)h})·D_i
    /// + ½(1 − e^{−(1+η)h})·(D_i − D_{i−1})/r + σ_{i+1}·√(1 − e^{−2ηh})·S_noise·z, and x = D_i on the step to σ = 0.
    /// k-diffusion draws z from a Brownian tree; on a fixed grid independent normals have the same law. η = 0 is
    /// DPM-Solver++(2M) exactly.
    /// </summary>
    public static (Tensor X, int Nfe) DpmPlusPlus2MSde(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas,
        double eta = 1, Generator? generator = null, double sNoise = 1, Action<int, Tensor>? observe = null)
    {
        if (eta != 0 && generator is null) throw new ArgumentException("an SDE sampler with η > 0 needs a generator");
        Tensor? previous = null;
        var hLast = 0.0;
        var nfe = 0;
        for (var i = 0; i < sigmas.Count - 1; i++)
        {
            using var scope = torch.NewDisposeScope();
            var (sigma, next) = (sigmas[i], sigmas[i + 1]);
            var denoised = denoiser(x, sigma);
            nfe++;
            Tensor result;
            var h = Math.Log(sigma) - Math.Log(next);
            if (next == 0) result = denoised.alias();
            else if (eta == 0)
            {
                // The deterministic form exactly as sample_dpmpp_2m writes it.
                var corrected = previous is null ? denoised : denoised * (1 + 1 / (2 * (hLast / h))) - previous * (1 / (2 * (hLast / h)));
                result = x * (next / sigma) - corrected * Precise.Expm1(-h);
            }
            else
            {
                var etaH = eta * h;
                var weight = -Precise.Expm1(-h - etaH);
                result = x * (next / sigma * Math.Exp(-etaH)) + denoised * weight;
                if (previous is not null) result = result + (denoised - previous) * (0.5 * weight * h / hLast);
                result = result + torch.randn(x.shape, generator!, x.dtype) * (next * Math.Sqrt(-Precise.Expm1(-2 * etaH)) * sNoise);
            }
            x = State.Replace(x, result);
            previous?.Dispose();
            previous = denoised.DetachFromDisposeScope();
            hLast = h;
            observe?.Invoke(i + 1, x);
        }
        previous?.Dispose();
        return (x, nfe);
    }

    /// <summary>
    /// UniPC with B(h) = e^{h} − 1 ("bh2"), data prediction (Zhao et al. 2023, "UniPC", Alg. 2–3 and eq. 8/10;
    /// wl-zhao/UniPC @cf9de85bf2ed68137e6fba5f165f451677b174c4, uni_pc.py <c>multistep_uni_pc_bh_update</c> and the
    /// multistep loop of <c>sample</c>), in σ-space (α = 1, λ = −log σ; the update is invariant under x_t = α·x_σ).
    /// UniP-p predicts from the last p model values, UniC corrects with the value at the new point, which is kept as the
    /// next step's history (so the corrector costs no NFE); warm-up steps use orders 1 … p − 1, the last nonzero step is
    /// not corrected, and with <paramref name="lowerOrderFinal"/> the final steps use order min(p, steps left) as the
    /// reference does. A final σ = 0 is UniPC's <c>denoise_to_zero</c>: x = D(x; σ_last). NFE = number of intervals.
    /// </summary>
    public static (Tensor X, int Nfe) UniPc(DenoiserFn denoiser, Tensor x, IReadOnlyList<double> sigmas, int order = 2,
        bool lowerOrderFinal = true, Action<int, Tensor>? observe = null)
    {
        if (order is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(order), order, "UniPC order 1, 2 or 3");
        var toZero = sigmas[^1] == 0;
        var last = sigmas.Count - 1 - (toZero ? 1 : 0);                           // index of the last nonzero level
        var models = new List<Tensor>();                                          // D at the previous levels, newest last
        var lambdas = new List<double>();
        var nfe = 0;
        using (var scope = torch.NewDisposeScope())
        {
            models.Add(denoiser(x, sigmas[0]).DetachFromDisposeScope());
            nfe++;
        }
        lambdas.Add(-Math.Log(sigmas[0]));
        for (var step = 1; step <= last; step++)
        {
            using var scope = torch.NewDisposeScope();
            var stepOrder = Math.Min(order, step);                                 // warm-up
            if (lowerOrderFinal) stepOrder = Math.Min(stepOrder, last + 1 - step);
            var corrector = step < last;
            var (xNext, modelNext) = UniPcStep(denoiser, x, models, lambdas, sigmas[step - 1], sigmas[step], stepOrder, corrector);
            if (modelNext is not null) nfe++;
            x = State.Replace(x, xNext);
            if (step < last)
            {
                models.Add((modelNext ?? Count(ref nfe, denoiser(x, sigmas[step]))).DetachFromDisposeScope());
                lambdas.Add(-Math.Log(sigmas[step]));
                if (models.Count > order)
                {
                    models[0].Dispose();
                    models.RemoveAt(0);
                    lambdas.RemoveAt(0);
                }
            }
            observe?.Invoke(step, x);
        }
        foreach (var m in models) m.Dispose();
        if (toZero)
        {
            using var scope = torch.NewDisposeScope();
            x = State.Replace(x, denoiser(x, sigmas[last]));
            nfe++;
            observe?.Invoke(sigmas.Count - 1, x);
        }
        return (x, nfe);
    }

    private static Tensor Count(ref int nfe, Tensor t)
    {
        nfe++;
        return t;
    }

    /// <summary>One <c>multistep_uni_pc_bh_update</c> (predict_x0, bh2): returns x at σ_next and, when corrected, D there.</summary>
    private static (Tensor X, Tensor? Model) UniPcStep(DenoiserFn denoiser, Tensor x, List<Tensor> models, List<double> lambdas,
        double sigmaPrev, double sigmaNext, int order, bool useCorrector)
    {
        var m0 = models[^1];
        var lambda0 = lambdas[^1];
        var h = -Math.Log(sigmaNext) - lambda0;
        var rks = new double[order];
        var d1s = new Tensor[order - 1];
        for (var i = 1; i < order; i++)
        {
            rks[i - 1] = (lambdas[^(i + 1)] - lambda0) / h;
            d1s[i - 1] = (models[^(i + 1)] - m0) / rks[i - 1];
        }
        rks[order - 1] = 1;

        var hh = -h;
        var hPhi1 = Precise.Expm1(hh);
        var hPhiK = hPhi1 / hh - 1;
        var bH = Precise.Expm1(hh);                                                  // bh2
        var factorial = 1.0;
        var r = new double[order, order];
        var b = new double[order];
        for (var i = 1; i <= order; i++)
        {
            for (var j = 0; j < order; j++) r[i - 1, j] = Math.Pow(rks[j], i - 1);
            b[i - 1] = hPhiK * factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }

        var xBase = x * (sigmaNext / sigmaPrev) - m0 * hPhi1;
        var xPred = xBase.alias();
        if (order >= 2)
        {
            var rhosP = order == 2 ? [0.5] : Solve(r, b, order - 1);
            var predRes = d1s[0] * rhosP[0];
            for (var k = 1; k < rhosP.Length; k++) predRes = predRes + d1s[k] * rhosP[k];
            xPred = xBase - predRes * bH;
        }
        if (!useCorrector) return (xPred, null);

        var modelT = denoiser(xPred, sigmaNext);
        var rhosC = order == 1 ? [0.5] : Solve(r, b, order);
        var corrRes = (modelT - m0) * rhosC[^1];
        for (var k = 0; k < order - 1; k++) corrRes = corrRes + d1s[k] * rhosC[k];
        return (xBase - corrRes * bH, modelT);
    }

    /// <summary>The leading n×n block of R·ρ = b by Gaussian elimination with partial pivoting (n ≤ 3).</summary>
    private static double[] Solve(double[,] r, double[] b, int n)
    {
        var a = new double[n, n + 1];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++) a[i, j] = r[i, j];
            a[i, n] = b[i];
        }
        for (var col = 0; col < n; col++)
        {
            var pivot = Enumerable.Range(col, n - col).MaxBy(i => Math.Abs(a[i, col]));
            for (var j = 0; j <= n; j++) (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            for (var i = col + 1; i < n; i++)
            {
                var f = a[i, col] / a[col, col];
                for (var j = col; j <= n; j++) a[i, j] -= f * a[col, j];
            }
        }
        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var s = a[i, n];
            for (var j = i + 1; j < n; j++) s -= a[i, j] * x[j];
            x[i] = s / a[i, i];
        }
        return x;
    }
}
