using Diffusion.Torch;
using Diffusion.Training.Data;
using Xunit;

namespace Diffusion.Training.Tests.Data;

public class ToyDatasetsTests
{
    public static TheoryData<DataSet> Names => new(ToyDatasets.Sets);

    [Theory, MemberData(nameof(Names))]
    public void Sample_IsDeterministicBySeed_AndShapedN2Float32(DataSet name)
    {
        using var scope = torch.NewDisposeScope();
        var a = ToyDatasets.Sample(name, 1001, new Generator(7));
        var b = ToyDatasets.Sample(name, 1001, new Generator(7));
        var c = ToyDatasets.Sample(name, 1001, new Generator(8));
        Assert.Equal([1001L, 2L], a.shape);
        Assert.Equal(ScalarType.Float32, a.dtype);
        Assert.True(a.equal(b));
        Assert.False(a.equal(c));
        Assert.True(a.isfinite().all().item<bool>());
        Assert.False(string.IsNullOrWhiteSpace(DataSets.Names.Describe(name)));
    }

    [Fact]
    public void A_set_that_is_not_2d_lists_the_toy_sets()
    {
        var e = Assert.Throws<ArgumentException>(() => ToyDatasets.Sample(DataSet.Phantom3d, 10, new Generator(0)));
        foreach (var set in ToyDatasets.Sets) Assert.Contains(DataSets.Names.Name(set), e.Message);
    }

    /// <summary>
    /// Closed form for make_moons with θ ~ U[0, π] and σ = 0.05: E = (1/2, 1/4),
    /// Var x = 3/4 + σ², Var y = 5/8 − 1/π − 1/16 + σ², Cov = 1/4 − 1/π − 1/8.
    /// </summary>
    [Fact]
    public void Moons_MatchesMakeMoonsMoments_AndLiesOnTheTwoArcs()
    {
        using var scope = torch.NewDisposeScope();
        var p = ToyDatasets.Sample(DataSet.Moons, 200_000, new Generator(1));
        var x = Support.Column(p, 0);
        var y = Support.Column(p, 1);
        var s2 = 0.05 * 0.05;
        Assert.Equal(0.5, x.Average(), 0.005);
        Assert.Equal(0.25, y.Average(), 0.005);
        Assert.Equal(0.75 + s2, Variance(x), 0.005);
        Assert.Equal(5.0 / 8 - 1 / Math.PI - 1.0 / 16 + s2, Variance(y), 0.005);
        var cov = x.Zip(y).Average(t => (t.Item1 - 0.5) * (t.Item2 - 0.25));
        Assert.Equal(0.25 - 1 / Math.PI - 0.125, cov, 0.005);

        // Each point's distance to the outer circle (centre (0,0)) or the inner one (centre (1, 0.5)).
        int outer = 0, near = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var dOut = Math.Abs(Math.Sqrt(x[i] * x[i] + y[i] * y[i]) - 1);
            var dIn = Math.Abs(Math.Sqrt((x[i] - 1) * (x[i] - 1) + (y[i] - 0.5) * (y[i] - 0.5)) - 1);
            if (dOut < dIn) outer++;
            if (Math.Min(dOut, dIn) < 0.15) near++;
        }
        Assert.InRange(outer / (double)x.Length, 0.47, 0.53);
        Assert.True(near > 0.99 * x.Length, $"only {near} of {x.Length} points within 3σ of an arc");
    }

    [Fact]
    public void SwissRoll_HasRoughlyUnitStd()
    {
        using var scope = torch.NewDisposeScope();
        var p = ToyDatasets.Sample(DataSet.SwissRoll, 100_000, new Generator(2));
        foreach (var c in new[] { 0, 1 })
        {
            var v = Support.Column(p, c);
            Assert.InRange(Support.Std(v), 0.85, 1.15);
            Assert.InRange(v.Average(), -0.3, 0.3);
        }
    }

    [Fact]
    public void EightGaussians_HasEightEqualModesOnRadius2Point83()
    {
        using var scope = torch.NewDisposeScope();
        var p = ToyDatasets.Sample(DataSet.EightGaussians, 80_000, new Generator(3));
        var x = Support.Column(p, 0);
        var y = Support.Column(p, 1);
        var counts = new int[8];
        var radius = 4 / 1.414;
        for (var i = 0; i < x.Length; i++)
        {
            var k = (int)Math.Round(Math.Atan2(y[i], x[i]) / (Math.PI / 4));
            counts[(k + 8) % 8]++;
        }
        foreach (var c in counts) Assert.InRange(c, 9_000, 11_000);
        Assert.Equal(radius, x.Zip(y).Average(t => Math.Sqrt(t.Item1 * t.Item1 + t.Item2 * t.Item2)), 0.05);
        Assert.Equal(0.0, x.Average(), 0.02);
    }

    [Fact]
    public void Checkerboard_FillsOnlyEvenSquares_Equally()
    {
        using var scope = torch.NewDisposeScope();
        var p = ToyDatasets.Sample(DataSet.Checkerboard, 50_000, new Generator(4));
        var x = Support.Column(p, 0);
        var y = Support.Column(p, 1);
        var cells = new int[4, 4];
        for (var i = 0; i < x.Length; i++)
        {
            Assert.InRange(x[i], -4, 4);
            Assert.InRange(y[i], -4, 4);
            int cx = (int)Math.Floor((x[i] + 4) / 2), cy = (int)Math.Floor((y[i] + 4) / 2);
            cells[Math.Min(cx, 3), Math.Min(cy, 3)]++;
        }
        for (var cx = 0; cx < 4; cx++)
            for (var cy = 0; cy < 4; cy++)
                if ((cx + cy) % 2 == 1) Assert.InRange(cells[cx, cy], 0, 0);
                else Assert.InRange(cells[cx, cy], 5_500, 7_000);
    }

    [Fact]
    public void Circles_HalfOnUnitCircle_HalfOnRadiusOneHalf()
    {
        using var scope = torch.NewDisposeScope();
        var p = ToyDatasets.Sample(DataSet.Circles, 40_001, new Generator(5));
        var x = Support.Column(p, 0);
        var y = Support.Column(p, 1);
        var r = x.Zip(y).Select(t => Math.Sqrt(t.Item1 * t.Item1 + t.Item2 * t.Item2)).ToArray();
        Assert.Equal(20_000, r.Count(v => v > 0.75));
        Assert.Equal(1.0, r.Where(v => v > 0.75).Average(), 0.005);
        Assert.Equal(0.5, r.Where(v => v <= 0.75).Average(), 0.005);
        Assert.Equal(0.0, x.Average(), 0.01);
    }

    private static double Variance(double[] xs)
    {
        var m = xs.Average();
        return xs.Average(v => (v - m) * (v - m));
    }
}
