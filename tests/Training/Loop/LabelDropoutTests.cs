using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

/// <summary>
/// Classifier-free label dropout happens in one place, the trainer (<see cref="TrainingConfig.LabelDropout"/>):
/// the null-class fraction the model's embedding sees is p, not 1 − (1 − p)² from a second draw inside the model.
/// </summary>
public class LabelDropoutTests
{
    private const int Classes = 3, Batch = 256, Steps = 8;

    private static DiTConfig SmallDiT => new(InputSize: 8, PatchSize: 4, InChannels: 1, HiddenSize: 32, Depth: 1, NumHeads: 2,
        ClassDropoutProb: 0.1, NumClasses: Classes, LearnSigma: false);

    private static TensorDataSource LabelledImages()
    {
        using var g = new Generator(2);
        var images = torch.randn([64, 1, 8, 8], g).DetachFromDisposeScope();
        var labels = torch.randint(0, Classes, [64], g).DetachFromDisposeScope();
        return new TensorDataSource("labelled", images, labels, Classes);
    }

    /// <summary>|count − n·p| within 5 binomial standard deviations.</summary>
    private static void AssertBinomial(int count, int n, double p, string what)
    {
        var tolerance = 5 * Math.Sqrt(n * p * (1 - p));
        Assert.True(Math.Abs(count - n * p) <= tolerance,
            $"{what}: {count} of {n} null labels ({(double)count / n:P1}), expected {p:P0} ± {tolerance / n:P1}");
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void The_trainer_drops_labels_to_the_null_class_with_probability_p(double p)
    {
        var log = new LabelLog();
        using var data = LabelledImages();
        using (var trainer = new Trainer(new SpyConfig(SmallDiT, log), new TrainingConfig { Steps = Steps, Batch = Batch, LabelDropout = p }, data))
            trainer.Run();
        var given = log.Given.SelectMany(l => l!).ToArray();
        Assert.Equal(Steps * Batch, given.Length);
        AssertBinomial(given.Count(l => l == Classes), given.Length, p, "labels given to the model");
    }

    [Fact]
    public void A_dit_embeds_the_null_class_for_p_of_the_labels_not_twice_that()
    {
        const double p = 0.1;
        var log = new LabelLog();
        using var data = LabelledImages();
        using (var trainer = new Trainer(new SpyConfig(SmallDiT, log, MeasureEmbedding: true), new TrainingConfig { Steps = Steps, Batch = Batch, LabelDropout = p }, data))
            trainer.Run();
        var embedded = log.EmbeddedNull.SelectMany(e => e).ToArray();
        Assert.Equal(Steps * Batch, embedded.Length);
        AssertBinomial(embedded.Count(e => e), embedded.Length, p, "labels the DiT embedded as the null class");
    }

    [Fact]
    public void A_dit_forward_is_a_pure_function_of_its_labels()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var log = new LabelLog();
        using var model = new SpyConfig(SmallDiT, log, MeasureEmbedding: true).Build(g);
        var x = torch.randn([512, 1, 8, 8], g);
        var t = torch.rand([512], g) * 999;
        var labels = torch.randint(0, Classes, [512], g);
        using var dropout = new Generator(5);
        using var noGrad = torch.no_grad();
        var training = model.Forward(x, t, new Conditioning(labels), dropout);
        var evaluation = model.Forward(x, t, new Conditioning(labels));
        Assert.True(training.equal(evaluation), "a dropout generator changed the output of a DiT (which has no dropout layers)");
    }

    [Fact]
    public void Label_dropout_on_a_dit_without_a_null_class_is_refused_up_front()
    {
        using var data = LabelledImages();
        var noNull = SmallDiT with { ClassDropoutProb = 0 };
        var e = Assert.Throws<ArgumentException>(() => new Trainer(noNull, new TrainingConfig { Steps = 1, Batch = 4, LabelDropout = 0.1 }, data));
        Assert.Contains("label_dropout=0.1", e.Message);
        using var trainer = new Trainer(noNull, new TrainingConfig { Steps = 1, Batch = 4, LabelDropout = 0 }, data);
        trainer.Run();
        Assert.Equal(1, trainer.Step);
    }
}
