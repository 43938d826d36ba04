using Diffusion.Torch;
using Diffusion.Training.Names;

namespace Diffusion.Training.Losses;

/// <summary>
/// λ(t) of the continuous denoising score-matching objective E_t λ(t)·E‖s(x_t, t) − ∇log p_t(x_t | x₀)‖²
/// (Song et al. 2021 eq. 7). <see cref="Sigma2"/>: λ = σ(t)², which is exactly the ε-prediction MSE
/// ‖ε̂ − ε‖² (DDPM's L_simple); <see cref="Likelihood"/>: λ = g(t)², which makes the objective an upper bound
/// on the negative log-likelihood (Song et al. 2021b, "Maximum Likelihood Training", Thm. 1).
/// </summary>
public enum Weighting { Sigma2, Likelihood }

/// <summary>How per-element squared errors are reduced within a sample; the batch is always averaged.</summary>
public enum LossReduction { Mean, Sum }

public static class LossWeights
{
    /// <summary>The names of training.json's <c>weighting</c>.</summary>
    public static readonly NameList<Weighting> Names = new("loss weighting",
        new(Weighting.Sigma2, "sigma2", "λ = σ², the ε-MSE (DDPM's L_simple)", "simple"),
        new(Weighting.Likelihood, "likelihood", "λ = g², a bound on the negative log-likelihood"));

    /// <summary>The names of training.json's <c>reduction</c>.</summary>
    public static readonly NameList<LossReduction> Reductions = new("loss reduction",
        new(LossReduction.Mean, "mean", "average the squared error over each sample's elements"),
        new(LossReduction.Sum, "sum", "sum the squared error over each sample's elements"));

    /// <summary>Per-sample squared error (N), summed or averaged over every non-batch dimension.</summary>
    public static Tensor PerSample(Tensor squaredError, LossReduction reduction)
    {
        var dims = Enumerable.Range(1, (int)squaredError.dim() - 1).Select(i => (long)i).ToArray();
        return dims.Length == 0 ? squaredError.alias() : reduction == LossReduction.Sum ? squaredError.sum(dims) : squaredError.mean(dims);
    }

    /// <summary>
    /// Min-SNR-γ (Hang et al. 2023, eq. 9) for a loss written in ε-space: min(SNR, γ)/SNR, SNR = α²/σ².
    /// (In x₀-space the weight is min(SNR, γ); in v-space min(SNR, γ)/(SNR + 1).)
    /// </summary>
    public static Tensor MinSnr(Tensor alpha, Tensor sigma, double gamma, Schedules.Prediction space = Schedules.Prediction.Epsilon)
    {
        using var scope = torch.NewDisposeScope();
        var snr = alpha.square() / sigma.square();
        var clipped = snr.clamp(max: gamma);
        var w = space switch
        {
            Schedules.Prediction.X0 => clipped,
            Schedules.Prediction.V => clipped / (snr + 1),
            _ => clipped / snr,
        };
        return w.MoveToOuterDisposeScope();
    }
}
