using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Xunit;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>Classifier-free guidance (Ho &amp; Salimans 2022): ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅), on a real class-conditional U-Net.</summary>
public class GuidanceTests
{
    private static readonly UNetConfig Config = new()
    {
        InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1,
        AttentionResolutions = [], MidAttention = false, NormGroups = 4, Dropout = 0, NumClasses = 3,
    };

    [Fact]
    public void Guided_output_combines_conditional_and_null_class_predictions()
    {
        Assert.Empty(Config.Check());
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        using var model = Config.Build(g);
        var x = torch.randn([4, 1, 8, 8], g);
        var t = torch.rand([4], g) * 999;
        var labels = torch.tensor(new long[] { 0, 1, 2, 0 });
        using var noGrad = torch.no_grad();
        var cond = model.Forward(x, t, new Conditioning(labels));
        var uncond = model.Forward(x, t, new Conditioning(torch.full([4], 3, ScalarType.Int64)));
        Assert.False(cond.allclose(uncond), "labels must change the prediction for guidance to mean anything");

        Assert.True(ModelFunctions.Guided(model, labels, 3, 0)(x, t).allclose(cond, 1e-4, 1e-5));
        Assert.True(ModelFunctions.Guided(model, labels, 3, 2.5)(x, t).allclose(cond * 3.5 - uncond * 2.5, 1e-4, 1e-5));
    }

    [Fact]
    public void Guided_sampling_is_seeded_and_depends_on_the_guidance_weight()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        using var model = Config.Build(g);
        var labels = torch.tensor(new long[] { 0, 1 });
        Tensor Sample(double w, ulong seed)
        {
            using var sg = new Generator(seed);
            var sde = new Diffusion.Training.Sde.VpSde();
            var score = ModelFunctions.Score(ModelFunctions.Guided(model, labels, 3, w), sde, Diffusion.Training.Schedules.Prediction.Epsilon);
            using var result = EulerMaruyama.Sample(sde, score, [2, 1, 8, 8], 10, sg);
            return result.Samples.clone();
        }
        Assert.True(Sample(1, 7).equal(Sample(1, 7)));
        Assert.False(Sample(1, 7).allclose(Sample(4, 7)));
    }
}
