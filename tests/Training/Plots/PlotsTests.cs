using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Plots;
using Xunit;

namespace Diffusion.Training.Tests.Plots;

using Plots = Diffusion.Training.Plots.Plots;

public class PlotsTests
{
    [Fact]
    public void Scatter_OverlaidAndSideBySide_WriteValidPngs()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("scatter");
        var moons = ToyDatasets.Sample(DataSet.Moons, 5000, new Generator(1));
        var circles = ToyDatasets.Sample(DataSet.Circles, 5000, new Generator(2));
        var overlay = Path.Combine(dir, "overlay.png");
        Plots.Scatter(overlay, [("data", moons), ("model", circles)], title: "Moons vs circles");
        var image = PngDecoder.Decode(File.ReadAllBytes(overlay));
        Assert.True(image.Width > 360 && image.Height > 360);
        Assert.Contains(image.Pixels, b => b != 255);

        var side = Path.Combine(dir, "side.png");
        Plots.Scatter(side, [("data", moons), ("model", circles)], overlay: false, panelSize: 200);
        var sideImage = PngDecoder.Decode(File.ReadAllBytes(side));
        Assert.True(sideImage.Width > 2 * 200 && sideImage.Width < 2 * 300);
    }

    [Fact]
    public void ScatterPanels_OneRowOrAGrid()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("panels");
        var panels = ToyDatasets.Sets.Select((n, i) => (DataSets.Names.Name(n), ToyDatasets.Sample(n, 3000, new Generator((ulong)i)))).ToArray();
        var row = Path.Combine(dir, "row.png");
        Plots.ScatterPanels(row, panels, title: "Toy data sets", panelSize: 160);
        var grid = Path.Combine(dir, "grid.png");
        Plots.ScatterPanels(grid, panels, panelSize: 160, columns: 2);
        var r = PngDecoder.Decode(File.ReadAllBytes(row));
        var g = PngDecoder.Decode(File.ReadAllBytes(grid));
        Assert.True(r.Width > g.Width && g.Height > r.Height);
    }

    [Fact]
    public void Scatter_RejectsNonPointTensors()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => Plots.Scatter(Path.Combine(Support.TempDir("bad"), "x.png"), [("bad", torch.zeros(5, 3))]));
        Assert.Contains("(N, 2)", e.Message);
    }

    [Fact]
    public void ImageGrid_HasTheExpectedSize_AndMapsValues()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("grid");
        var images = torch.linspace(-1, 1, 10 * 28 * 28).reshape(10, 1, 28, 28);
        var path = Path.Combine(dir, "grid.png");
        Plots.ImageGrid(path, images, columns: 5, scale: 1);
        var image = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal((2 + 5 * 30, 2 + 2 * 30), (image.Width, image.Height));
        // First pixel of the first image is −1 → 0; last pixel of the last image is +1 → 255.
        Assert.Equal(0, image.Pixels[(2 * image.Width + 2) * 3]);
        var last = ((2 + 30 + 27) * image.Width + 2 + 4 * 30 + 27) * 3;
        Assert.Equal(255, image.Pixels[last]);
    }

    [Fact]
    public void ImageGrid_FitsATitleWiderThanTheGrid()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Support.TempDir("grid-title"), "grid.png");
        const string title = "MASKED | FILLED | TRUTH";
        Plots.ImageGrid(path, torch.zeros(6, 1, 28, 28), columns: 3, scale: 2, title: title);   // grid 3 × 58 pixels wide
        var image = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.True(image.Width >= Canvas.TextWidth(title), $"width {image.Width} < the title's {Canvas.TextWidth(title)}");
        // The title is drawn whole: white pixels in its band, none in the first and last columns (the text is not cut).
        bool White(int x, int y) => image.Pixels[(y * image.Width + x) * 3] == 255;
        var band = Enumerable.Range(0, Canvas.TextHeight(2) + 8);
        Assert.Contains(band, y => Enumerable.Range(0, image.Width).Any(x => White(x, y)));
        Assert.DoesNotContain(band, y => White(0, y) || White(image.Width - 1, y));
    }

    [Fact]
    public void VolumeSlices_WritesThreeViewsPerVolume()
    {
        using var scope = torch.NewDisposeScope();
        var dir = Support.TempDir("vol");
        var path = Path.Combine(dir, "vol.png");
        var volumes = torch.rand([3, 1, 8, 12, 16], new Generator(1)).mul(2).sub(1);
        Plots.VolumeSlices(path, volumes, scale: 4);
        var image = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.True(image.Width >= 3 * 16 * 4 && image.Height >= 3 * 12 * 4);
    }

    [Fact]
    public void NiceTicks_AreRoundAndCoverTheRange()
    {
        Assert.Equal([-1.0, -0.5, 0.0, 0.5, 1.0], Plots.NiceTicks(-1.2, 1.2));
        Assert.Equal([0.0, 2.0, 4.0, 6.0, 8.0, 10.0], Plots.NiceTicks(0, 10));
    }
}
