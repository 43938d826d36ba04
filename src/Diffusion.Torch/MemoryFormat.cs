namespace Diffusion.Torch;

/// <summary>
/// How a tensor's elements are laid out in memory, as ATen's <c>at::MemoryFormat</c> (same values). The shape is
/// (N, C, *spatial) either way; <see cref="ChannelsLast"/> stores each position's channels together, (N, H, W, C), which
/// oneDNN's convolutions read without reordering (README, Precision).
/// </summary>
public enum MemoryFormat
{
    /// <summary>Row-major in the shape's order: (N, C, H, W).</summary>
    Contiguous = 0,

    /// <summary>(N, H, W, C) order for a 4-D tensor.</summary>
    ChannelsLast = 2,

    /// <summary>(N, D, H, W, C) order for a 5-D tensor.</summary>
    ChannelsLast3d = 3,
}
