using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>
/// The arithmetic a forward runs in, chosen per run (a <see cref="Params.In"/> view of the weights), never globally.
/// <see cref="BF16"/> is mixed precision: convolutions, linear layers and attention's two matmuls take bfloat16 inputs
/// and weights (oneDNN's AVX512-BF16 kernels, 3–4× float32 on this CPU) and accumulate in float32; normalisation
/// statistics, softmax, the time embedding's sines and cosines, residual sums (float32 + bfloat16 promotes to float32),
/// the loss, the optimizer and the EMA stay float32, and the master weights stay float32 (README, Precision).
/// </summary>
public enum Precision
{
    /// <summary>Everything in float32: the exact, reproducible default.</summary>
    FP32,

    /// <summary>Matmul-shaped ops in bfloat16 (8-bit mantissa), the rest in float32.</summary>
    BF16,
}

public static class Precisions
{
    /// <summary>The element type the matmul-shaped ops compute in.</summary>
    public static ScalarType ComputeType(this Precision p) => p == Precision.BF16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>
    /// A bfloat16 activation widened to float32 for an op that stays in float32 — a normalisation, so its mean and variance
    /// are taken in float32 (and ATen 1.13's CPU norms take no bfloat16 input with float32 γ, β), or a transposed
    /// convolution; any other tensor is returned as it is.
    /// </summary>
    public static Tensor InFloat32(Tensor x) => x.dtype == ScalarType.BFloat16 ? x.@float() : x;
}
