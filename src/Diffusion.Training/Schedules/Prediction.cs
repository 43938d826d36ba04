using Diffusion.Architectures;
using Diffusion.Torch;
using static Diffusion.Training.Sde.ForwardSde;

namespace Diffusion.Training.Schedules;

/// <summary>What a network's output means. Architectures' <see cref="PredictionTarget"/> maps onto it.</summary>
public enum Prediction { Epsilon, X0, V, Score }

/// <summary>
/// Conversions between the network targets for a Gaussian perturbation x = α·x₀ + σ·ε (any SDE or DDPM step):
/// score = −ε/σ (Vincent 2011), x₀ = (x − σε)/α, and v = α·ε − σ·x₀ (Salimans &amp; Ho 2022 §4), whose inverse
/// for general α, σ is x₀ = (α·x − σ·v)/(α² + σ²), ε = (σ·x + α·v)/(α² + σ²) (α² + σ² = 1 for VP and DDPM).
/// α and σ are per-sample (N); x and outputs are (N, …). Each conversion is affine in the output, so
/// classifier-free guidance may combine outputs in any of these spaces.
/// </summary>
public static class Predictions
{
    public static Prediction From(PredictionTarget target) => target switch
    {
        PredictionTarget.Noise => Prediction.Epsilon,
        PredictionTarget.Score => Prediction.Score,
        PredictionTarget.V => Prediction.V,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, null),
    };

    /// <summary>The ε the output implies.</summary>
    public static Tensor ToEpsilon(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma) => Scaled(alpha, sigma, x, (a, s) => p switch
    {
        Prediction.Epsilon => output.alias(),
        Prediction.X0 => (x - a * output) / s,
        Prediction.V => (s * x + a * output) / (a.square() + s.square()),
        Prediction.Score => -(s * output),
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
    });

    /// <summary>The output that ε implies (the inverse of <see cref="ToEpsilon"/>).</summary>
    public static Tensor FromEpsilon(Prediction p, Tensor eps, Tensor x, Tensor alpha, Tensor sigma) =>
        Scaled(alpha, sigma, x, (a, s) => Target(p, (x - s * eps) / a, eps, alpha, sigma));

    /// <summary>The regression target for clean data x₀ and noise ε.</summary>
    public static Tensor Target(Prediction p, Tensor x0, Tensor eps, Tensor alpha, Tensor sigma) => Scaled(alpha, sigma, x0, (a, s) => p switch
    {
        Prediction.Epsilon => eps.alias(),
        Prediction.X0 => x0.alias(),
        Prediction.V => a * eps - s * x0,
        Prediction.Score => -(eps / s),
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
    });

    /// <summary>The score −ε/σ the output implies.</summary>
    public static Tensor ToScore(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma) =>
        Scaled(alpha, sigma, x, (_, s) => -(ToEpsilon(p, output, x, alpha, sigma) / s));

    /// <summary>The x₀ = (x − σε)/α the output implies.</summary>
    public static Tensor ToX0(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma) =>
        Scaled(alpha, sigma, x, (a, s) => (x - s * ToEpsilon(p, output, x, alpha, sigma)) / a);

    /// <summary>
    /// <paramref name="f"/> of α and σ broadcast from (N) to <paramref name="like"/>'s (N, 1, …), its intermediates freed
    /// on return.
    /// </summary>
    private static Tensor Scaled(Tensor alpha, Tensor sigma, Tensor like, Func<Tensor, Tensor, Tensor> f)
    {
        using var scope = torch.NewDisposeScope();
        return f(Broadcast(alpha, like), Broadcast(sigma, like)).MoveToOuterDisposeScope();
    }
}
