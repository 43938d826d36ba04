using Diffusion.Architectures;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

/// <summary>Which configs take class labels: the trainer passes data labels only to those, and guidance needs them.</summary>
public class ClassCountTests
{
    [Fact]
    public void Unconditional_presets_take_no_labels()
    {
        foreach (var name in new[] { "mlp-seed", "unet28", "unet3d32", "dit28", "ddpm-cifar10" })
            Assert.Equal(0, Presets.Get(name).ClassCount());
    }

    [Fact]
    public void Class_conditional_configs_report_their_real_classes()
    {
        Assert.Equal(1000, Presets.Get("dit-xl-2").ClassCount());
        Assert.Equal(10, new UNetConfig { NumClasses = 10 }.ClassCount());
    }
}
