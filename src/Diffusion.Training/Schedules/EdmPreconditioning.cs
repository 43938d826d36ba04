using Diffusion.Torch;
using static Diffusion.Training.Sde.ForwardSde;

namespace Diffusion.Training.Schedules;

/// <summary>
/// EDM's preconditioning (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models",
/// Table 1 and eq. 7; NVlabs/edm @008a4e5 training/networks.py <c>EDMPrecond.forward</c>): the network F is wrapped
/// into the denoiser D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ)) with
/// c_skip = σ_d²/(σ² + σ_d²), c_out = σ·σ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²), c_noise = ¼·ln σ,
/// so F's input and its effective target have unit variance at every σ (§5, App. B.6). F's time input is c_noise
/// itself, as in the reference (not <see cref="NetworkTime"/>'s t·999): an EDM model's output means F whatever its
/// config's prediction target says. <see cref="SigmaData"/> is σ_d, the data's standard deviation (0.5 in EDM).
/// </summary>
public sealed record EdmPreconditioning(double SigmaData = 0.5)
{
    /// <summary>EDM's sampling range and Karras-grid exponent (Table 1: σ_min 0.002, σ_max 80, ρ 7).</summary>
    public const double SigmaMin = 0.002, SigmaMax = 80, Rho = 7;

    /// <summary>c_skip, c_out, c_in and c_noise at per-sample noise levels σ (N), each (N).</summary>
    public (Tensor Skip, Tensor Out, Tensor In, Tensor Noise) Coefficients(Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var d2 = SigmaData * SigmaData;
        var total = sigma.square() + d2;                                                 // σ² + σ_d²
        var skip = total.reciprocal() * d2;
        var root = total.sqrt();
        var output = sigma * SigmaData / root;
        var input = root.reciprocal();
        var noise = sigma.log() / 4;
        scope.MoveToOuter(skip, output, input, noise);
        return (skip, output, input, noise);
    }

    /// <summary>
    /// D(x; σ) for x (N, …) at noise levels σ (N), F being <paramref name="network"/>'s raw output for (input, c_noise).
    /// D is affine in F's output, so a guided F (<see cref="Sampling.ModelFunctions.Guided"/>) gives the guided D.
    /// </summary>
    public Tensor Denoise(Sampling.NetworkFn network, Tensor x, Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        var (skip, output, input, noise) = Coefficients(sigma.to(x.dtype));
        var f = network(Broadcast(input, x) * x, noise);                                // (N, …)
        return (Broadcast(skip, x) * x + Broadcast(output, x) * f).MoveToOuterDisposeScope();
    }

    /// <summary>The loss weight λ(σ) = (σ² + σ_d²)/(σ·σ_d)² of EDM's training objective (Table 1), (N).</summary>
    public Tensor LossWeight(Tensor sigma)
    {
        using var scope = torch.NewDisposeScope();
        return ((sigma.square() + SigmaData * SigmaData) / (sigma * SigmaData).square()).MoveToOuterDisposeScope();
    }
}
