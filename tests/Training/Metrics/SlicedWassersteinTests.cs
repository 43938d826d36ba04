using Diffusion.Torch;
using Diffusion.Training.Data;
using Diffusion.Training.Metrics;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Metrics;

public class SlicedWassersteinTests(ITestOutputHelper output)
{
    [Fact]
    public void IdenticalSets_GiveZero()
    {
        using var scope = torch.NewDisposeScope();
        var a = ToyDatasets.Sample(DataSet.Moons, 2000, new Generator(1));
        Assert.Equal(0.0, SlicedWasserstein.Distance(a, a.clone(), 64, new Generator(0)), 12);
    }

    [Fact]
    public void IsSymmetric_ForEqualAndUnequalSizes()
    {
        using var scope = torch.NewDisposeScope();
        var a = ToyDatasets.Sample(DataSet.Moons, 1500, new Generator(1));
        var b = ToyDatasets.Sample(DataSet.EightGaussians, 1000, new Generator(2));
        var c = ToyDatasets.Sample(DataSet.EightGaussians, 1500, new Generator(3));
        Assert.Equal(SlicedWasserstein.Distance(a, b, 64, new Generator(9)), SlicedWasserstein.Distance(b, a, 64, new Generator(9)), 10);
        Assert.Equal(SlicedWasserstein.Distance(a, c, 64, new Generator(9)), SlicedWasserstein.Distance(c, a, 64, new Generator(9)), 10);
    }

    /// <summary>
    /// W_p of a translate is |θ·s| exactly, so SW₁ = E|θ·s| = 2|s|/π and SW₂ = √E(θ·s)² = |s|/√2 in 2-D.
    /// </summary>
    [Fact]
    public void Shift_GivesTheMomentOfTheProjectedShift()
    {
        using var scope = torch.NewDisposeScope();
        var a = ToyDatasets.Sample(DataSet.Moons, 3000, new Generator(1));
        var shifted = a.add(torch.tensor([0.3f, 0.4f]));
        var sw1 = SlicedWasserstein.Distance(a, shifted, 4000, new Generator(2), p: 1);
        Assert.Equal(2 * 0.5 / Math.PI, sw1, 0.01);
        var sw2 = SlicedWasserstein.Distance(a, shifted, 4000, new Generator(2));
        Assert.Equal(0.5 / Math.Sqrt(2), sw2, 0.01);
        var bigger = SlicedWasserstein.Distance(a, a.add(torch.tensor([0.6f, 0.8f])), 4000, new Generator(2));
        Assert.Equal(2 * sw2, bigger, 1e-4);
    }

    [Fact]
    public void UnequalSizes_UseExactQuantileIntegral()
    {
        // a = {0, 1}, b = {0, 0.5, 1}: quantile functions differ by 0.5 on u ∈ (1/3, 1/2] and (1/2, 2/3].
        Assert.Equal(0.5 * (1.0 / 3), SlicedWasserstein.W1Sorted([0.0, 1.0], [0.0, 0.5, 1.0]), 12);
        Assert.Equal(2.0, SlicedWasserstein.W1Sorted([1.0], [3.0, 3.0, 3.0]), 12);
        Assert.Equal(Math.Sqrt(0.25 * (1.0 / 3)), SlicedWasserstein.W2Sorted([0.0, 1.0], [0.0, 0.5, 1.0]), 12);
        // Duplicating every point changes nothing.
        Assert.Equal(SlicedWasserstein.W2Sorted([0.0, 2.0, 5.0], [1.0, 1.5, 4.0]), SlicedWasserstein.W2Sorted([0.0, 0.0, 2.0, 2.0, 5.0, 5.0], [1.0, 1.5, 4.0]), 12);
        Assert.Equal(SlicedWasserstein.W1Sorted([0.0, 2.0, 5.0], [1.0, 1.5, 4.0]), SlicedWasserstein.W1Sorted([0.0, 0.0, 2.0, 2.0, 5.0, 5.0], [1.0, 1.5, 4.0]), 12);
    }

    [Fact]
    public void IndependentMoonsSamplesOf10k_AreAtTheCalibratedLevel()
    {
        using var scope = torch.NewDisposeScope();
        List<double> sw1 = [], sw2 = [];
        for (ulong s = 0; s < 5; s++)
        {
            var a = ToyDatasets.Sample(DataSet.Moons, 10_000, new Generator(100 + s));
            var b = ToyDatasets.Sample(DataSet.Moons, 10_000, new Generator(200 + s));
            sw2.Add(SlicedWasserstein.Distance(a, b, 128, new Generator(s)));
            sw1.Add(SlicedWasserstein.Distance(a, b, 128, new Generator(s), p: 1));
        }
        output.WriteLine($"SW2(moons 10k, moons 10k): {string.Join(", ", sw2.Select(v => v.ToString("F4")))}; mean {sw2.Average():F4}");
        output.WriteLine($"SW1(moons 10k, moons 10k): {string.Join(", ", sw1.Select(v => v.ToString("F4")))}; mean {sw1.Average():F4}");
        Assert.InRange(sw2.Average(), 0.01, 0.016);
        Assert.InRange(sw1.Average(), 0.006, 0.012);
        Assert.All(sw2, v => Assert.True(v < 0.025));
        // A model that draws the wrong shape is far above the 0.05 bar.
        var moons = ToyDatasets.Sample(DataSet.Moons, 10_000, new Generator(1));
        var circles = ToyDatasets.Sample(DataSet.Circles, 10_000, new Generator(2));
        Assert.True(SlicedWasserstein.Distance(moons, circles, 128, new Generator(3)) > 0.05);
    }
}
