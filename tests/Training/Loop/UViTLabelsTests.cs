using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

/// <summary>
/// A class-conditional U-ViT is trained with its labels (it used to get none: UViTConfig was not <see cref="IClassConditional"/>,
/// so the trainer passed no labels and the forward refused the batch). U-ViT has no null row, so label dropout is refused.
/// </summary>
public class UViTLabelsTests
{
    private static readonly UViTConfig Small = new(ImgSize: 8, PatchSize: 4, InChans: 1, EmbedDim: 16, Depth: 2, NumHeads: 2, NumClasses: 3);

    private static TensorDataSource Labelled()
    {
        using var g = new Generator(5);
        var labels = torch.arange(12) % 3;                                              // (12) int64 in [0, 3)
        return new TensorDataSource("labelled", torch.randn([12, 1, 8, 8], g), labels, 3);
    }

    [Fact]
    public void The_data_labels_reach_a_class_conditional_uvit()
    {
        Assert.Equal(3, Small.ClassCount());
        var log = new LabelLog();
        using var data = Labelled();
        using var trainer = new Trainer(new SpyConfig(Small, log), new TrainingConfig { Steps = 2, Batch = 4, LabelDropout = 0 }, data);
        trainer.Run();
        Assert.Equal(2, log.Given.Count);
        Assert.All(log.Given, labels =>
        {
            Assert.NotNull(labels);
            Assert.Equal(4, labels!.Length);
            Assert.All(labels, l => Assert.InRange(l, 0, 2));
        });
    }

    [Fact]
    public void A_real_class_conditional_uvit_trains_and_label_dropout_is_refused()
    {
        using var data = Labelled();
        using (var trainer = new Trainer(Small, new TrainingConfig { Steps = 2, Batch = 4, LabelDropout = 0 }, data))
            Assert.True(double.IsFinite(trainer.TrainStep()));
        var e = Assert.Throws<ArgumentException>(() => new Trainer(Small, new TrainingConfig { Steps = 2, Batch = 4, LabelDropout = 0.1 }, data));
        Assert.Contains("label_dropout", e.Message);
        Assert.Contains("U-ViT", e.Message);
    }
}
