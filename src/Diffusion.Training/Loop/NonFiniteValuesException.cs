using Diffusion.Torch;

namespace Diffusion.Training.Loop;

/// <summary>
/// A NaN or infinity where only finite numbers make sense: a diverged training step, a tensor about to be written to
/// a checkpoint, or a sample. The message names what held it (step, parameter, file, tensor).
/// </summary>
public sealed class NonFiniteValuesException(string message) : ArithmeticException(message)
{
    /// <summary>The first tensor of <paramref name="tensors"/> (in their order) holding a NaN or infinity, or null when all are finite.</summary>
    public static string? FirstNonFinite(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            if (!t.dtype.IsFloatingPoint()) continue;
            using var scope = torch.NewDisposeScope();
            if (!t.detach().isfinite().all().item<bool>()) return name;
        }
        return null;
    }

    /// <summary>How many of a tensor's values are NaN or infinite.</summary>
    public static long CountNonFinite(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.dtype.IsFloatingPoint() ? t.detach().isfinite().logical_not().sum().item<long>() : 0;
    }

    /// <summary>Throws when <paramref name="samples"/> hold a NaN or infinity (a sampler's output is never written with them).</summary>
    public static void ThrowIfAny(Tensor samples, string what)
    {
        var bad = CountNonFinite(samples);
        if (bad > 0)
            throw new NonFiniteValuesException($"{bad} of the {samples.numel()} values of the {what} are NaN or infinite (diverged weights, or a sampler unstable at these settings); nothing was written");
    }
}
