using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Property.Tests.Docs;

/// <summary>The README's code, compiled and run, so the documentation cannot drift from the API.</summary>
public class ReadmeExamplesTests
{
    [Fact]
    public void Binding_example_trains_and_frees_every_step()
    {
        using var g = torch.manual_seed(0);
        using var w = (torch.randn([128, 2], g) * 0.1).requires_grad_().DetachFromDisposeScope();
        double first = 0, last = 0;
        for (var step = 0; step < 200; step++)
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([256, 2], g);
            var loss = F.mse_loss(F.silu(F.linear(x, w)).sum(1), x.select(1, 0));
            loss.backward();
            using (torch.no_grad()) w.add_(w.grad!, -0.01);
            w.zero_grad();
            last = loss.item<double>();
            if (step == 0) first = last;
        }
        Assert.True(last < first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Blocks_example_runs_with_the_documented_shapes()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(0);
        var down = EncoderStage.Plan(new EncoderStageConfig(In: 64, Out: 128, Size: new Spatial(16, 16), Layers: 2, TembDim: 256,
            Attention: true, Heads: 4, Res: new ResOptions(Conditioning: TimeConditioning.ScaleShift))).OrThrow();
        var up = DecoderStage.Plan(new DecoderStageConfig(In: 128, Out: 64, Size: new Spatial(8, 8), SkipChannels: [128], TembDim: 256)).OrThrow();
        using var wd = Params.Init(down.Module, g);
        using var wu = Params.Init(up.Module, g);
        var time = new TimeMlpSpec(64, 256, 256).Declare("time_embedding", "TimestepEmbedding", TimeMlpSpec.Diffusers);
        using var wt = Params.Init(Module.Group("", "Time", [256], [time.Module]), g);
        var temb = time.Forward(wt, Sinusoidal.Embed(new SinusoidalSpec(64), torch.tensor(new long[] { 10, 500 })));
        var (h, skips) = EncoderStage.Forward(down, wd, torch.randn([2, 64, 16, 16], g), temb);
        var y = DecoderStage.Forward(up, wu, h, [skips[^1]], temb);
        Assert.Equal([2L, 256], temb.shape);
        Assert.Equal([2L, 128, 8, 8], h.shape);
        Assert.Equal([2L, 64, 16, 16], y.shape);
    }

    [Fact]
    public void Custom_unet_example_validates_builds_summarises_and_round_trips()
    {
        var config = new UNetConfig
        {
            InChannels = 1, Size = [64, 64, 64],
            Channels = 32, ChannelMult = [1, 2, 4, 4], NumResBlocks = 2,
            AttentionResolutions = [8], AttentionHeads = 4,
            Norm = NormKind.Group, NormGroups = 8, Dropout = 0.1,
            TimeEmbedding = TimeEmbeddingKind.Fourier,
            Down = DownsampleKind.AvgPool, Up = UpsampleKind.TransposedConv,
            NumClasses = 4, MetadataDim = 2,
        };
        Assert.Empty(config.Check());
        using var model = config.Build(new Generator(0));
        var text = ModelSummary.Of(model, [1, 1, 64, 64, 64], depth: 2).ToText();
        Assert.Contains("[1, 1, 64, 64, 64]", text);
        Assert.Equal(config, ModelConfig.FromJson(config.ToJson()));
    }
}
