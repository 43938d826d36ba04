using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Property.Tests;

/// <summary>
/// Under bf16 a 2-D convolution computes channels-last, (N, H, W, C) (README, Precision), but a model's output is
/// float32 in the usual (N, C, H, W) order, so samplers, metrics and files downstream need not know.
/// </summary>
public class PrecisionLayoutTests
{
    [Fact]
    public void A_bf16_convolution_writes_channels_last_even_from_a_one_channel_input()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var spec = new ConvSpec(2, 1, 16, 3, 1, 1, true);
        using var w = Params.Init(spec.Declare("conv", [1, 8, 8]).Module, g);
        using var view = w.In(Precision.BF16);
        var y = Conv.Forward(spec, view, torch.randn([2, 1, 8, 8], g)); // ATen counts a one-channel input as NCHW
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.True(y.is_contiguous(MemoryFormat.ChannelsLast) && !y.is_contiguous());
        using var fp32 = w.In(Precision.FP32);
        Assert.True(Conv.Forward(spec, fp32, torch.randn([2, 1, 8, 8], g)).is_contiguous()); // float32 keeps NCHW
    }

    [Fact]
    public void A_bf16_view_casts_a_weight_once_into_the_layout_asked_for_and_gradients_reach_the_master()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var spec = new ConvSpec(2, 8, 16, 3, 1, 1, true);
        using var w = Params.Init(spec.Declare("conv", [8, 8, 8]).Module, g);
        using var view = w.In(Precision.BF16);
        var laidOut = view.Compute("weight", MemoryFormat.ChannelsLast);
        Assert.Same(laidOut, view.Compute("weight", MemoryFormat.ChannelsLast)); // cast once per view
        Assert.Equal(ScalarType.BFloat16, laidOut.dtype);
        Assert.True(laidOut.is_contiguous(MemoryFormat.ChannelsLast) && !laidOut.is_contiguous());
        Assert.True(view.Compute("weight").is_contiguous(), "the plain compute copy keeps the master's layout");
        Assert.Equal(0.0, (laidOut.to(ScalarType.Float32) - w["weight"].to(ScalarType.BFloat16).to(ScalarType.Float32)).abs().max().item<float>());
        Conv.Forward(spec, view, torch.randn([2, 8, 8, 8], g)).@float().sum().backward();
        Assert.Equal(ScalarType.Float32, w["weight"].grad!.dtype);
        Assert.True(w["weight"].grad!.is_contiguous(), "the master's gradient has the master's layout");
        using var fp32 = w.In(Precision.FP32);
        Assert.Same(w["weight"], fp32.Compute("weight", MemoryFormat.ChannelsLast)); // float32: the master itself
    }

    [Fact]
    public void A_bf16_unet_returns_float32_in_nchw_order()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        var config = new UNetConfig
        {
            InChannels = 3, Size = [8, 8], Channels = 16, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [4], NormGroups = 8,
        };
        using var model = config.Build(g);
        using var bf16 = new PrecisionModel(model, Precision.BF16);
        var x = torch.randn([2, 3, 8, 8], g);
        var t = torch.full([2], 0.5);
        var y = bf16.Forward(x, t);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.True(y.is_contiguous(), "the output of a bf16 model is NCHW-contiguous");
        var reference = model.Forward(x, t);
        Assert.True(MixedPrecisionLaws.RelativeError(y, reference) < 0.02);
    }
}
