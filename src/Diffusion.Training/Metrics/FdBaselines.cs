using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Training.Metrics;

/// <summary>
/// Degraded copies of real images that calibrate FD-FMNIST (README, "FD-FMNIST"): what a blurry model or one that
/// has the pixel statistics but no structure would score.
/// </summary>
public static class FdBaselines
{
    /// <summary>(N, C, H, W) → same shape: a k × k box blur (k odd), the border averaged over the pixels inside the image.</summary>
    public static Tensor Blur(Tensor images, int kernel = 3)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentException($"blur kernel {kernel} must be odd and positive");
        return F.avg_pool2d(images, kernel, 1, kernel / 2, countIncludePad: false);
    }

    /// <summary>
    /// (N, C, H, W) → same shape with the pixel positions permuted by one random permutation drawn from
    /// <paramref name="generator"/>, the same for every image: each image keeps its histogram and the set its per-pixel
    /// marginals (moved), but no image keeps its shapes.
    /// </summary>
    public static Tensor ShufflePixels(Tensor images, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        var flat = images.flatten(1);                                  // (N, C·H·W)
        var permutation = torch.randperm(flat.size(1), generator);    // (C·H·W)
        return flat.index_select(1, permutation).reshape(images.shape).MoveToOuterDisposeScope();
    }
}
