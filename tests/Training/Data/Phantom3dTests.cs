using Diffusion.Torch;
using Diffusion.Training.Data;
using Xunit;

namespace Diffusion.Training.Tests.Data;

public class Phantom3dTests
{
    [Fact]
    public void Volumes_AreDeterministic_InRange_AndNotConstant()
    {
        using var scope = torch.NewDisposeScope();
        var a = Phantom3d.Sample(3, 16, new Generator(1));
        var b = Phantom3d.Sample(3, 16, new Generator(1));
        var c = Phantom3d.Sample(3, 16, new Generator(2));
        Assert.Equal([3L, 1L, 16L, 16L, 16L], a.shape);
        Assert.Equal(ScalarType.Float32, a.dtype);
        Assert.True(a.equal(b));
        Assert.False(a.equal(c));
        Assert.InRange(a.min().item<double>(), -1, -1);          // background
        Assert.InRange(a.max().item<double>(), 0.5, 1);          // the shell is at +1
        for (var i = 0; i < 3; i++)
        {
            var v = a[i];
            Assert.True(v.std().item<double>() > 0.3);
            // Corners are outside the shell; the centre is inside it.
            Assert.Equal(-1.0, v[0, 0, 0, 0].item<double>());
            Assert.True(v[0, 8, 8, 8].item<double>() > -1);
        }
        // Volumes differ from one another.
        Assert.False(a[0].equal(a[1]));
    }
}
