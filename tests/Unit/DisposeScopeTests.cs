using Xunit;

namespace Diffusion.Torch.Tests;

public class DisposeScopeTests
{
    [Fact]
    public void Scope_frees_every_tensor_created_inside()
    {
        var before = Tensor.SettledLiveNativeTensors();
        Tensor inner;
        using (var scope = torch.NewDisposeScope())
        {
            inner = torch.ones(3, 3) + torch.zeros(3, 3);
            Assert.True(Tensor.LiveNativeTensors >= before + 3);
        }
        Assert.True(inner.IsDisposed);
        Assert.Equal(before, Tensor.LiveNativeTensors);
    }

    [Fact]
    public void Tensor_moved_out_survives_the_scope()
    {
        Tensor kept;
        using (var scope = torch.NewDisposeScope())
        {
            var a = torch.ones(2);
            kept = (a * 2.0).MoveToOuterDisposeScope();
        }
        Assert.False(kept.IsDisposed);
        Assert.Equal(new[] { 2f, 2f }, kept.ToArray<float>());
        kept.Dispose();
    }

    [Fact]
    public void Using_a_disposed_tensor_throws_ObjectDisposedException()
    {
        var t = torch.ones(2);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.sum());
        Assert.Throws<ObjectDisposedException>(() => t.shape);
        t.Dispose(); // disposing twice is harmless
    }
}
