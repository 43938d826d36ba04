using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>
/// Conditioning by modulation: a normalised activation is scaled and shifted by vectors computed from the
/// conditioning (FiLM, Perez et al. 2018; adaLN in DiT, Peebles &amp; Xie 2023 §3.2). The "1 +" keeps a zero-initialised
/// projection an identity at the start of training.
/// </summary>
public static class AdaptiveNorm
{
    /// <summary>DiT's <c>modulate</c>: x (N, T, D), shift and scale (N, D) → x·(1 + scale) + shift, (N, T, D).</summary>
    public static Tensor ModulateTokens(Tensor x, Tensor shift, Tensor scale)
    {
        using var scope = torch.NewDisposeScope();
        var y = x * (scale.unsqueeze(1) + 1.0) + shift.unsqueeze(1); // (N, T, D)
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>FiLM on feature maps: x (N, C, *spatial), scale and shift (N, C) broadcast over every position.</summary>
    public static Tensor ModulateChannels(Tensor x, Tensor scale, Tensor shift)
    {
        using var scope = torch.NewDisposeScope();
        var s = Broadcast(scale, x); // (N, C, 1, 1[, 1])
        var b = Broadcast(shift, x);
        return (x * (s + 1.0) + b).MoveToOuterDisposeScope();
    }

    /// <summary><c>v[:, :, None, None]</c> (2-D) or with three Nones (3-D): (N, C) → (N, C, 1, …) to match x.</summary>
    public static Tensor Broadcast(Tensor v, Tensor x)
    {
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = v.size(0);
        shape[1] = v.size(1);
        return v.reshape(shape);
    }
}
