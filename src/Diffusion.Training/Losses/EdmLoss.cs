using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Distributed;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using static Diffusion.Training.Sde.ForwardSde;

namespace Diffusion.Training.Losses;

/// <summary>
/// EDM's training objective (Karras et al. 2022 eq. 2 and Table 1; NVlabs/edm @008a4e5 training/loss.py
/// <c>EDMLoss</c>): ln σ ~ N(P_mean, P_std²), n ~ N(0, σ²I), and λ(σ)·‖D(y + n; σ) − y‖² with D the preconditioned
/// network (<see cref="EdmPreconditioning"/>) and λ(σ) = (σ² + σ_d²)/(σ·σ_d)², which makes F's effective loss weight 1
/// at every σ. The reference returns the per-element loss and its training loop sums it over a sample's elements and
/// averages over the batch (training_loop.py: <c>loss.sum().mul(loss_scaling / batch_gpu_total)</c>): that is
/// <see cref="LossReduction.Sum"/>; <see cref="LossReduction.Mean"/> divides by the elements per sample.
/// </summary>
public sealed record EdmLoss(EdmPreconditioning Preconditioning, double PMean = -1.2, double PStd = 1.2, LossReduction Reduction = LossReduction.Mean)
{
    /// <summary>Scalar loss for a batch x₀ (N, …): the normal of ln σ, then the unit noise, are drawn from <paramref name="noise"/>, as the reference draws them.</summary>
    public Tensor Compute(IScoreModel model, Tensor x0, Generator noise, Conditioning? conditioning = null, Generator? dropout = null,
        BatchShard? shard = null)
    {
        using var scope = torch.NewDisposeScope();
        // Drawn for the whole global batch (N on one process), this rank keeping its rows: see BatchShard.
        shard ??= BatchShard.Whole(x0.shape[0]);
        var normal = shard.Slice(torch.randn([shard.Total], noise, x0.dtype));                                 // (N)
        var z = shard.RandnLike(x0, noise);                                                   // (N, …)
        var perElement = Elementwise((x, t) => model.Predict(x, t, conditioning, dropout), x0, normal, z);
        return LossWeights.PerSample(perElement, Reduction).mean().MoveToOuterDisposeScope();
    }

    /// <summary>σ = exp(P_std·<paramref name="normal"/> + P_mean) for standard normals (N).</summary>
    public Tensor Sigma(Tensor normal) => (normal * PStd + PMean).exp();

    /// <summary>
    /// The reference's return value, λ(σ)·(D(y + σz; σ) − y)² (N, …), for data y (N, …), the standard normals behind
    /// ln σ (N) and unit noise z (N, …); F is <paramref name="network"/>'s raw output.
    /// </summary>
    public Tensor Elementwise(NetworkFn network, Tensor y, Tensor normal, Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var sigma = Sigma(normal);                                                      // (N)
        var noisy = y + Broadcast(sigma, y) * z;
        var denoised = Preconditioning.Denoise(network, noisy, sigma);
        return (Broadcast(Preconditioning.LossWeight(sigma), y) * (denoised - y).square()).MoveToOuterDisposeScope();
    }
}
