using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>
/// Transformer sinusoidal features of the timestep (Vaswani et al. 2017 §3.5; DDPM's get_timestep_embedding):
/// with h = Dim/2 and frequencies ω_i = exp(−ln(MaxPeriod)·i/(h − DownscaleFreqShift)), i = 0…h−1,
/// emb(t) = [sin(Scale·t·ω), cos(Scale·t·ω)] — or [cos, sin] with <see cref="FlipSinToCos"/>.
/// DDPM uses shift 1 (ω ranges over [1, 1/10000]); diffusers' UNet2DModel defaults to shift 0 and flip true.
/// </summary>
public sealed record SinusoidalSpec(int Dim, bool FlipSinToCos = false, double DownscaleFreqShift = 1, double MaxPeriod = 10000, double Scale = 1)
{
    public IEnumerable<string> Check(string path) =>
    [
        .. Rules.Require(Dim >= 2 && Dim % 2 == 0, path, $"dim={Dim} must be even and ≥ 2 (half sine, half cosine)"),
        .. Rules.Require(Dim / 2 - DownscaleFreqShift > 0, path, $"downscale_freq_shift={DownscaleFreqShift} must be < dim/2={Dim / 2}"),
        .. Rules.Require(MaxPeriod > 1, path, $"max_period={MaxPeriod} must be > 1"),
    ];

    /// <summary>The parameter-free features as a summary row.</summary>
    public Module Declare(string name) => Module.Op(name, "Sinusoidal", [Dim]);
}

public static class Sinusoidal
{
    /// <summary>(N) timesteps (any real dtype) → (N, Dim) float32; every entry in [−1, 1].</summary>
    public static Tensor Embed(SinusoidalSpec s, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var half = s.Dim / 2;
        var exponent = torch.arange(0, half).@float() * (-Math.Log(s.MaxPeriod) / (half - s.DownscaleFreqShift)); // (h)
        var args = t.@float().unsqueeze(1) * exponent.exp().unsqueeze(0) * s.Scale;                              // (N, h)
        Tensor[] parts = s.FlipSinToCos ? [args.cos(), args.sin()] : [args.sin(), args.cos()];
        return torch.cat(parts, 1).MoveToOuterDisposeScope(); // (N, Dim)
    }
}
