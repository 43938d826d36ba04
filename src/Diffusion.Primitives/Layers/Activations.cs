using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Primitives;

/// <summary>The nonlinearity of a block, chosen in its config.</summary>
public enum Activation
{
    /// <summary>x·σ(x) (Ramachandran et al. 2017, "Swish"; Elfwing et al. 2018): the diffusion default.</summary>
    SiLU,

    /// <summary>x·Φ(x), exact (Hendrycks &amp; Gimpel 2016).</summary>
    GELU,

    /// <summary>½x(1 + tanh(√(2/π)(x + 0.044715x³))), the approximation used by DiT's MLP.</summary>
    GELUTanh,

    ReLU,
}

public static class Activations
{
    public static Tensor Apply(this Activation a, Tensor x) => a switch
    {
        Activation.SiLU => F.silu(x),
        Activation.GELU => F.gelu(x),
        Activation.GELUTanh => F.gelu(x, "tanh"),
        Activation.ReLU => F.relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "unknown activation"),
    };

    /// <summary>SiLU's global minimum: at x* solving σ(x)(1 + x(1 − σ(x))) = 0, i.e. x* ≈ −1.27846, SiLU(x*) ≈ −0.27846.</summary>
    public const double SiLUArgMin = -1.2784645427610738, SiLUMin = -0.2784645427610738;

    /// <summary>Largest |GELU_exact − GELU_tanh| over ℝ (attained near |x| ≈ 2.3): below 5e-4.</summary>
    public const double GeluTanhMaxError = 5e-4;
}
