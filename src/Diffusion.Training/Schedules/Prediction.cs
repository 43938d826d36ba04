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
    public static Tensor ToEpsilon(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var a = Broadcast(alpha, x);
        var s = Broadcast(sigma, x);
        var eps = p switch
        {
            Prediction.Epsilon => output.alias(),
            Prediction.X0 => (x - a * output) / s,
            Prediction.V => (s * x + a * output) / (a.square() + s.square()),
            Prediction.Score => -(s * output),
            _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
        };
        return eps.MoveToOuterDisposeScope();
    }

    /// <summary>The output that ε implies (the inverse of <see cref="ToEpsilon"/>).</summary>
    public static Tensor FromEpsilon(Prediction p, Tensor eps, Tensor x, Tensor alpha, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var a = Broadcast(alpha, x);
        var s = Broadcast(sigma, x);
        var x0 = (x - s * eps) / a;
        return Target(p, x0, eps, alpha, sigma).MoveToOuterDisposeScope();
    }

    /// <summary>The regression target for clean data x₀ and noise ε.</summary>
    public static Tensor Target(Prediction p, Tensor x0, Tensor eps, Tensor alpha, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var a = Broadcast(alpha, x0);
        var s = Broadcast(sigma, x0);
        var target = p switch
        {
            Prediction.Epsilon => eps.alias(),
            Prediction.X0 => x0.alias(),
            Prediction.V => a * eps - s * x0,
            Prediction.Score => -(eps / s),
            _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
        };
        return target.MoveToOuterDisposeScope();
    }

    /// <summary>The score −ε/σ the output implies.</summary>
    public static Tensor ToScore(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        return (-(ToEpsilon(p, output, x, alpha, sigma) / Broadcast(sigma, x))).MoveToOuterDisposeScope();
    }

    /// <summary>The x₀ = (x − σε)/α the output implies.</summary>
    public static Tensor ToX0(Prediction p, Tensor output, Tensor x, Tensor alpha, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var eps = ToEpsilon(p, output, x, alpha, sigma);
        return ((x - Broadcast(sigma, x) * eps) / Broadcast(alpha, x)).MoveToOuterDisposeScope();
    }
}
