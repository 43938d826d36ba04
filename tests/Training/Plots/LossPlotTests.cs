using Diffusion.Training.Loop;
using Diffusion.Training.Tests.Cli;
using Xunit;
using P = Diffusion.Training.Plots.Plots;

namespace Diffusion.Training.Tests.Plots;

public class LossPlotTests
{
    /// <summary>A loss falling from 10 to ~0.05 with noise (three decades), the learning rate warming up over 100 steps.</summary>
    private static List<StepMetrics> Falling(int n) => Enumerable.Range(1, n).Select(s =>
        new StepMetrics(s, 10 * Math.Exp(-s / 100.0) + 0.05 * (1 + Math.Sin(s)), Math.Min(1e-3, s * 1e-5), 1, 0.99, 100, s * 0.01)).ToList();

    private static int CountColour(PngDecoder.Image png, Diffusion.Training.Plots.Rgb colour, (int X, int Y, int W, int H) area)
    {
        var count = 0;
        for (var y = area.Y; y < area.Y + area.H; y++)
            for (var x = area.X; x < area.X + area.W; x++)
            {
                var i = (y * png.Width + x) * 3;
                if (png.Pixels[i] == colour.R && png.Pixels[i + 1] == colour.G && png.Pixels[i + 2] == colour.B) count++;
            }
        return count;
    }

    [Fact]
    public void The_loss_plot_decodes_at_its_size_and_draws_both_curves_in_their_panels()
    {
        var path = Path.Combine(Support.TempDir("loss-plot"), "loss.png");
        P.Loss(path, Falling(600));
        var png = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal((P.LossPlotWidth, P.LossPlotHeight, 2), (png.Width, png.Height, png.ColourType));
        // Curves cross their panel's width: at least one pixel of the curve's colour per column on average over half of it.
        Assert.True(CountColour(png, P.SmoothLossColour, P.LossArea) > P.LossArea.W / 2, "no smoothed loss curve");
        Assert.True(CountColour(png, P.LrColour, P.LrArea) > P.LrArea.W / 2, "no learning-rate curve");
        Assert.Equal(0, CountColour(png, P.LrColour, P.LossArea));
    }

    [Fact]
    public void Log_scale_only_when_the_loss_spans_more_than_a_decade()
    {
        Assert.True(P.LossNeedsLogScale(Falling(600).Select(m => m.Loss).ToArray()));
        Assert.False(P.LossNeedsLogScale([1.0, 2.0, 9.9]));
        Assert.False(P.LossNeedsLogScale([0.0, 1.0, 100.0]));
    }

    [Fact]
    public void Smoothing_follows_a_constant_exactly_and_damps_noise()
    {
        Assert.All(P.SmoothLoss(Enumerable.Repeat(0.5, 200).ToArray()), v => Assert.Equal(0.5, v, 12));
        var noisy = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? 1.0 : 3.0).ToArray();
        var tail = P.SmoothLoss(noisy)[500..];
        Assert.True(tail.Max() - tail.Min() < 0.2, $"smoothed range {tail.Max() - tail.Min()}");
    }

    [Fact]
    public void Plotting_no_metrics_is_a_clear_error()
    {
        Assert.Throws<ArgumentException>(() => P.LossCurves([]));
        var dir = Support.TempDir("plot-empty");
        var missing = CliRunner.Run("plot", dir);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("error: no metrics file", missing.Stderr);
        File.WriteAllText(MetricsLog.PathIn(dir), "");
        var empty = CliRunner.Run("plot", dir);
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("no complete metrics line", empty.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "loss.png")));
    }
}
