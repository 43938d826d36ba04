using System.Security.Cryptography;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>
/// FD-FMNIST: the Fréchet distance (<see cref="FrechetDistance"/>) between generated and real Fashion-MNIST images in the
/// 128-d feature space of <see cref="FashionClassifier"/> — FID's recipe with a small classifier trained by this library
/// in place of Inception (so its numbers are not comparable with any published FID). The shipped weights
/// (<see cref="ResourceName"/>, trained by <c>diffusion classifier train</c>) are embedded in this assembly.
/// </summary>
public sealed class FdFmnist : IDisposable
{
    /// <summary>The embedded safetensors file of the shipped classifier.</summary>
    public const string ResourceName = "Diffusion.Training.Metrics.fashion-classifier.safetensors";

    /// <summary>SHA-256 of the shipped file (README, "FD-FMNIST"); a test checks the embedded bytes against it.</summary>
    public const string ShippedSha256 = "3c4a5c3286e60fc26a046b73f9fee1e6e4b5c25d5cac6a8fdf011b02f43d3efd";

    public FashionClassifierPlan Plan { get; }
    public Params Weights { get; }

    public FdFmnist(FashionClassifierPlan plan, Params weights) => (Plan, Weights) = (plan, weights);

    /// <summary>The classifier shipped inside Diffusion.Training.</summary>
    public static FdFmnist Shipped()
    {
        var (plan, w) = FashionClassifierWeights.Load(ShippedBytes(), $"embedded resource {ResourceName}");
        return new FdFmnist(plan, w);
    }

    /// <summary>A classifier from a file written by <c>diffusion classifier train --out FILE</c>.</summary>
    public static FdFmnist Load(string path)
    {
        var (plan, w) = FashionClassifierWeights.Load(path);
        return new FdFmnist(plan, w);
    }

    public static byte[] ShippedBytes()
    {
        using var stream = typeof(FdFmnist).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is missing from {typeof(FdFmnist).Assembly.GetName().Name}");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>(N, 1, 28, 28) images in [−1, 1] → (N, 128) features.</summary>
    public Tensor Features(Tensor images) => FashionClassifier.FeaturesBatched(Plan, Weights, images.detach().to(Device.CPU, ScalarType.Float32));

    /// <summary>Feature statistics of a set of images: compute the real set's once and compare many generated sets with it.</summary>
    public GaussianStats Statistics(Tensor images)
    {
        using var features = Features(images);
        return GaussianStats.Of(features);
    }

    /// <summary>FD-FMNIST of two image sets (N, 1, 28, 28), each of at least two images.</summary>
    public double Distance(Tensor generated, Tensor real) => FrechetDistance.Compute(Statistics(generated), Statistics(real));

    public void Dispose() => Weights.Dispose();
}
