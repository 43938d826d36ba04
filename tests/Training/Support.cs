using Diffusion.Torch;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace Diffusion.Training.Tests;

/// <summary>Small helpers shared by the training tests.</summary>
public static class Support
{
    /// <summary>A fresh folder under the system temp directory for files a test writes.</summary>
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "diffusion-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static double[] Column(Tensor points, int c)
    {
        using var scope = torch.NewDisposeScope();
        return points.select(1, c).to(ScalarType.Float64).contiguous().ToArray<double>();
    }

    public static double Mean(double[] xs) => xs.Average();

    public static double Std(double[] xs)
    {
        var m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Length - 1));
    }
}
