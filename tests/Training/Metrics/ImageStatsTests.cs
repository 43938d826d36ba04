using Diffusion.Torch;
using Diffusion.Training.Metrics;
using Xunit;

namespace Diffusion.Training.Tests.Metrics;

public class ImageStatsTests
{
    [Fact]
    public void SameBatch_AgreesExactly_AndAShiftShowsInTheMeans()
    {
        using var scope = torch.NewDisposeScope();
        var real = torch.randn([64, 1, 8, 8], new Generator(1));
        var same = ImageStats.Compute(real, real);
        Assert.Equal(0, same.MeanRmse, 12);
        Assert.Equal(0, same.StdRmse, 12);
        var shifted = ImageStats.Compute(real.add(0.5), real);
        Assert.Equal(0.5, shifted.MeanRmse, 5);
        Assert.Equal(0, shifted.StdRmse, 5);
        Assert.Equal(shifted.RealMean + 0.5, shifted.GeneratedMean, 5);
        var scaled = ImageStats.Compute(real.mul(2), real);
        Assert.Equal(2 * scaled.RealStd, scaled.GeneratedStd, 5);
        Assert.True(scaled.StdRmse > 0.5);
        Assert.Contains("RMSE", scaled.ToString());
    }

    [Fact]
    public void MismatchedShapes_AreRejected()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => ImageStats.Compute(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 9)));
    }
}
