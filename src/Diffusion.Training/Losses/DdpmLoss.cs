using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Distributed;
using Diffusion.Training.Schedules;
using static Diffusion.Training.Sde.ForwardSde;

namespace Diffusion.Training.Losses;

/// <summary>
/// DDPM's discrete-step objective (Ho et al. 2020 Alg. 1): i ~ U{0, …, Steps − 1}, ε ~ N(0, I),
/// x_i = √ᾱ_i·x₀ + √(1 − ᾱ_i)·ε, and the MSE between the output and its target in the model's own space
/// (ε, x₀ or v), optionally Min-SNR-γ weighted.
/// </summary>
public sealed record DdpmLoss(DdpmSchedule Schedule, LossReduction Reduction = LossReduction.Mean, double? MinSnrGamma = null)
{
    public Tensor Compute(IScoreModel model, Prediction prediction, Tensor x0, Generator noise,
        Conditioning? conditioning = null, Generator? dropout = null, BatchShard? shard = null)
    {
        if (prediction == Prediction.Score) throw new ArgumentException("DDPM training needs an ε-, x₀- or v-prediction model, not a score model");
        using var scope = torch.NewDisposeScope();
        // Drawn for the whole global batch (N on one process), this rank keeping its rows: see BatchShard.
        shard ??= BatchShard.Whole(x0.shape[0]);
        var steps = shard.Slice(torch.randint(0, Schedule.Steps, [shard.Total], noise));                     // (N) int64
        var eps = shard.RandnLike(x0, noise);                                                   // (N, …)
        var (alpha, sigma) = Schedule.Marginal(steps);                                  // (N), (N)
        var xt = Broadcast(alpha, x0) * x0 + Broadcast(sigma, x0) * eps;
        var output = model.Predict(xt, NetworkTime.Discrete(steps), conditioning, dropout);
        var target = Predictions.Target(prediction, x0, eps, alpha, sigma);
        var perSample = LossWeights.PerSample((output - target).square(), Reduction);   // (N)
        if (MinSnrGamma is { } gamma) perSample = perSample * LossWeights.MinSnr(alpha, sigma, gamma, prediction);
        return perSample.mean().MoveToOuterDisposeScope();
    }
}
