using Diffusion.Primitives;
using Diffusion.Training.Names;

namespace Diffusion.Training.Loop;

/// <summary>The spellings of <see cref="Precision"/> in training.json and in <c>--precision</c> (train, sample, bench).</summary>
public static class PrecisionNames
{
    public static readonly NameList<Precision> Names = new("precision",
        new(Precision.FP32, "fp32", "float32 everywhere: exact and bitwise reproducible", "float32"),
        new(Precision.BF16, "bf16", "convolutions, linears and attention matmuls in bfloat16; norms, softmax, loss, optimizer, EMA in float32", "bfloat16"));
}
