namespace Diffusion.Torch.Serialization;

/// <summary>
/// A safetensors file (or buffer) that breaks a rule of the format. The message names the source,
/// the tensor when one is at fault, the byte offset in the file when one is known, and the rule.
/// </summary>
public sealed class SafetensorsFormatException(string source, string? tensor, long? offset, string rule)
    : FileFormatException(source, offset, rule, source + (tensor is null ? "" : $": tensor '{tensor}'") + At(offset))
{
    /// <summary>The tensor whose entry is at fault, if any.</summary>
    public string? Tensor { get; } = tensor;
}
