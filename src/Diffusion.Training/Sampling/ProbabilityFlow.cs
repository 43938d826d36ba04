using Diffusion.Torch;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>
/// Sampling by integrating the probability-flow ODE dx/dt = f(x, t) − ½g(t)²·s(x, t) (Song et al. 2021 eq. 13)
/// from x(1) ~ p_T down to t = ε. The only randomness is the prior draw; the path is deterministic after it.
/// </summary>
public static class ProbabilityFlow
{
    /// <summary>Heun's second-order method (Karras et al. 2022 Alg. 1) on t_k = linspace(1, ε, steps + 1): 2 NFE per step.</summary>
    public static SampleResult Heun(ForwardSde sde, ScoreFn score, long[] shape, int steps, Generator generator,
        double eps = 1e-3, IEnumerable<double>? recordAt = null)
    {
        var ode = sde.Reverse(score, probabilityFlow: true);
        var grid = TimeGrid.Steps(TimeGrid.Linspace(ForwardSde.T, eps, steps));
        return SamplingLoop.Run(() => sde.PriorSample(shape, generator), ForwardSde.T, eps, recordAt, (prior, recorder) =>
            (SamplingLoop.Walk(prior, grid, recorder, (_, t, next, x) =>
            {
                var h = next - t;
                var d = ode.Drift(x, torch.full([shape[0]], t));
                var euler = x + d * h;
                var d2 = ode.Drift(euler, torch.full([shape[0]], next));
                return x + (d + d2) * (h / 2);
            }), 2 * steps));
    }

    // Dormand–Prince 5(4) tableau (Dormand & Prince 1980), as scipy's RK45.
    private static readonly double[] C = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1];
    private static readonly double[][] A =
    [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
    ];
    private static readonly double[] B = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84];
    // Fifth- minus fourth-order weights, the last one for the FSAL stage f(x_new).
    private static readonly double[] E = [71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40];

    /// <summary>
    /// Adaptive Dormand–Prince RK45 with scipy's step control (score_sde integrates with scipy's RK45,
    /// rtol = atol = 1e-5): error = RMS of err/(atol + rtol·max(|x|, |x_new|)) over the whole batch, accept when ≤ 1,
    /// h ← h·clip(0.9·error^(−1/5), 0.2, 10). The result's Nfe counts every drift evaluation (rejected steps included).
    /// </summary>
    public static SampleResult Rk45(ForwardSde sde, ScoreFn score, long[] shape, Generator generator,
        double rtol = 1e-5, double atol = 1e-5, double eps = 1e-3, IEnumerable<double>? recordAt = null, int maxNfe = 100_000)
    {
        var ode = sde.Reverse(score, probabilityFlow: true);
        var n = shape[0];
        return SamplingLoop.Run(() => sde.PriorSample(shape, generator), ForwardSde.T, eps, recordAt, (x, recorder) =>
            Integrate((y, t) => ode.Drift(y, torch.full([n], t)), x, ForwardSde.T, eps, rtol, atol, maxNfe, recorder.Offer));
    }

    /// <summary>
    /// The adaptive Dormand–Prince RK45 of <see cref="Rk45"/> on any dy/dt = f(y, t), from <paramref name="t0"/> to
    /// <paramref name="t1"/> in either direction (the likelihood integrates ε → T). Takes ownership of
    /// <paramref name="y0"/>, which must live outside dispose scopes, and returns the final state (outside them too)
    /// with the number of evaluations of f; <paramref name="onStep"/> sees each accepted (t, y).
    /// </summary>
    internal static (Tensor Y, int Nfe) Integrate(Func<Tensor, double, Tensor> f, Tensor y0, double t0, double t1,
        double rtol, double atol, int maxNfe, Action<double, Tensor>? onStep = null)
    {
        var nfe = 0;
        Tensor F(Tensor y, double t)
        {
            nfe++;
            return f(y, t);
        }
        double Rms(Tensor v) => v.square().mean().sqrt().item<double>();

        var x = y0;
        var t = t0;
        var direction = Math.Sign(t1 - t0);
        var f0 = F(x, t).DetachFromDisposeScope();
        var h = InitialStep(x, f0, t, direction, rtol, atol, F, Rms);
        var justRejected = false;
        while (direction * (t1 - t) > 0)
        {
            if (nfe > maxNfe) throw new InvalidOperationException($"RK45 took more than {maxNfe} function evaluations (t = {t})");
            using var scope = torch.NewDisposeScope();
            var step = direction * Math.Min(Math.Abs(h), Math.Abs(t1 - t));
            var k = new Tensor[7];
            k[0] = f0;
            for (var s = 1; s < 6; s++)
            {
                var y = x.alias();
                for (var j = 0; j < s; j++) if (A[s][j] != 0) y = y + k[j] * (step * A[s][j]);
                k[s] = F(y, t + C[s] * step);
            }
            var xNew = x.alias();
            for (var s = 0; s < 6; s++) if (B[s] != 0) xNew = xNew + k[s] * (step * B[s]);
            k[6] = F(xNew, t + step);
            var err = k[0] * (step * E[0]);
            for (var s = 1; s < 7; s++) if (E[s] != 0) err = err + k[s] * (step * E[s]);
            var scale = x.abs().maximum(xNew.abs()) * rtol + atol;
            var error = Rms(err / scale);
            if (error <= 1)
            {
                var factor = error == 0 ? 10 : Math.Min(10, 0.9 * Math.Pow(error, -0.2));
                if (justRejected) factor = Math.Min(1, factor);
                t += step;
                h = Math.Abs(step) * factor;
                justRejected = false;
                x = State.Replace(x, xNew);
                var fNew = k[6].DetachFromDisposeScope();
                f0.Dispose();
                f0 = fNew;
                onStep?.Invoke(t, x);
            }
            else
            {
                h = Math.Abs(step) * Math.Max(0.2, 0.9 * Math.Pow(error, -0.2));
                justRejected = true;
            }
        }
        f0.Dispose();
        return (x, nfe);
    }

    /// <summary>Hairer, Nørsett &amp; Wanner's starting step (scipy's <c>select_initial_step</c>, order 4); one NFE.</summary>
    private static double InitialStep(Tensor x, Tensor f0, double t, double direction, double rtol, double atol,
        Func<Tensor, double, Tensor> f, Func<Tensor, double> rms)
    {
        using var scope = torch.NewDisposeScope();
        var scale = x.abs() * rtol + atol;
        var d0 = rms(x / scale);
        var d1 = rms(f0 / scale);
        var h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        var f1 = f(x + f0 * (direction * h0), t + direction * h0);
        var d2 = rms((f1 - f0) / scale) / h0;
        var h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / 5);
        return Math.Min(100 * h0, h1);
    }
}
