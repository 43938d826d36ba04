using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Distributed;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Losses;

/// <summary>
/// Denoising score matching at continuous t ~ U[ε, 1] (Song et al. 2021 eq. 7, score_sde's
/// <c>get_sde_loss_fn</c>): x_t = α(t)x₀ + σ(t)z, and with s = −ε̂/σ the weighted score error
/// λ(t)‖s + z/σ‖² equals (λ(t)/σ²)·‖ε̂ − z‖², which is what is computed (see <see cref="Weighting"/>).
/// t and then z are drawn from the one noise generator, so a run is reproducible.
/// </summary>
public sealed record ScoreMatchingLoss(ForwardSde Sde, Weighting Weighting = Weighting.Sigma2, LossReduction Reduction = LossReduction.Mean,
    double? MinSnrGamma = null, double Eps = 1e-5)
{
    /// <summary>Scalar loss for a batch x₀ (N, …); every draw comes from <paramref name="noise"/>.</summary>
    public Tensor Compute(IScoreModel model, Prediction prediction, Tensor x0, Generator noise,
        Conditioning? conditioning = null, Generator? dropout = null, BatchShard? shard = null)
    {
        using var scope = torch.NewDisposeScope();
        // Drawn for the whole global batch (N on one process), this rank keeping its rows: see BatchShard.
        shard ??= BatchShard.Whole(x0.shape[0]);
        var t = shard.Slice(torch.rand([shard.Total], noise)) * (ForwardSde.T - Eps) + Eps;                 // (N)
        var z = shard.RandnLike(x0, noise);                                                   // (N, …)
        var alpha = Sde.MeanCoefficient(t);                                             // (N)
        var sigma = Sde.Std(t);                                                         // (N)
        var xt = ForwardSde.Broadcast(alpha, x0) * x0 + ForwardSde.Broadcast(sigma, x0) * z;
        var output = model.Predict(xt, NetworkTime.Continuous(t), conditioning, dropout);
        var epsHat = Predictions.ToEpsilon(prediction, output, xt, alpha, sigma);
        var perSample = LossWeights.PerSample((epsHat - z).square(), Reduction);        // (N)
        var weight = Weighting == Weighting.Likelihood ? Sde.Diffusion(t).square() / sigma.square() : torch.ones_like(t);
        if (MinSnrGamma is { } gamma) weight = weight * LossWeights.MinSnr(alpha, sigma, gamma);
        return (weight * perSample).mean().MoveToOuterDisposeScope();
    }
}
