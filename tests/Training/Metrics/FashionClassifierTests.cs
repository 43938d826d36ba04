using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;
using Diffusion.Training.Metrics;
using Diffusion.Training.Tests.Data;
using Xunit;

namespace Diffusion.Training.Tests.Metrics;

public class FashionClassifierTests
{
    /// <summary>The shipped weights' test accuracy as README states it ("FD-FMNIST"): 91.02 % (9,102 of 10,000), measured when they were trained;
    /// asserted within 0.1 point, since another thread count rounds the kernels differently and can flip a borderline image.</summary>
    private const double StatedTestAccuracy = 0.9102;

    [Fact]
    public void DefaultPlan_DeclaresItsLayers_ParameterCountAndMacs()
    {
        var plan = new FashionClassifierConfig().Plan().OrThrow();
        var rows = plan.Module.Flatten();
        Assert.Equal(["", "conv1", "norm1", "act1", "pool1", "conv2", "norm2", "act2", "pool2", "flatten", "feature", "act3", "head"], rows.Select(r => r.Path));
        // conv1 1·32·9 + 32, norm1 2·32, conv2 32·64·9 + 64, norm2 2·64, feature 3136·128 + 128, head 128·10 + 10
        Assert.Equal(320 + 64 + 18_496 + 128 + 401_536 + 1_290, plan.Module.ParameterCount);
        Assert.Equal(28L * 28 * 32 * 9 + 14L * 14 * 64 * 32 * 9 + 3136L * 128 + 128 * 10, plan.Module.Macs);
        using var w = Params.Init(plan.Module, new Generator(0));
        Assert.Equal(plan.Module.ParameterCount, w.Count());
        using var scope = torch.NewDisposeScope();
        Assert.Equal([5L, 128], FashionClassifier.Features(plan, w, torch.zeros([5, 1, 28, 28])).shape);
        Assert.Equal([5L, 10], FashionClassifier.Logits(plan, w, torch.zeros([5, 1, 28, 28])).shape);
        Assert.Contains("expected images [N, 1, 28, 28], got [5, 3, 28, 28]",
            Assert.Throws<ShapeException>(() => FashionClassifier.Features(plan, w, torch.zeros([5, 3, 28, 28]))).Message);
    }

    [Fact]
    public void BadConfigs_ReportEveryProblem()
    {
        var problems = new FashionClassifierConfig(Channels1: 0, Features: -1, ImageSize: 30).Plan().Problems;
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.Contains("channels1"));
        Assert.Contains(problems, p => p.Contains("features"));
        Assert.Contains(problems, p => p.Contains("image_size=30"));
    }

    [Fact]
    public void CrossEntropy_IsMinusTheMeanLogSoftmaxAtTheLabel()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new float[] { 2, 0, -1, 0, 1, 3 }, [2, 3]);
        var labels = torch.tensor(new long[] { 0, 2 }, [2]);
        double Lse(double a, double b, double c) => Math.Log(Math.Exp(a) + Math.Exp(b) + Math.Exp(c));
        var expected = -0.5 * ((2 - Lse(2, 0, -1)) + (3 - Lse(0, 1, 3)));
        Assert.Equal(expected, FashionClassifier.CrossEntropy(logits, labels).item<float>(), 5);
    }

    [Fact]
    public void Training_IsBitwiseReproducible_AndLearnsASeparableTask()
    {
        // A tiny net on 8×8 images whose class is which quadrant is bright: a seed gives the same weights twice, and the
        // trained net classifies it, which a net that did not learn cannot do (chance is 25 %).
        using var scope = torch.NewDisposeScope();
        var plan = new FashionClassifierConfig(Channels1: 4, Channels2: 8, Features: 16, Classes: 4, ImageSize: 8).Plan().OrThrow();
        var g = new Generator(11);
        var labels = torch.randint(0, 4, [512], g);
        var images = torch.randn([512, 1, 8, 8], g).mul(0.3);
        for (var q = 0; q < 4; q++)
        {
            var mask = torch.zeros([1, 1, 8, 8]);
            mask.narrow(2, q / 2 * 4, 4).narrow(3, q % 2 * 4, 4).fill_(1);
            images = images + mask * labels.eq(q).to(ScalarType.Float32).reshape(512, 1, 1, 1);
        }
        var config = new ClassifierTrainingConfig(Epochs: 2, Batch: 32, LearningRate: 1e-2, Seed: 5);
        var losses = new List<double>();
        using var a = ClassifierTraining.Train(plan, images, labels, config, p => losses.Add(p.Loss));
        using var b = ClassifierTraining.Train(plan, images, labels, config);
        Assert.Equal(32, losses.Count);
        foreach (var (x, y) in a.Named().Zip(b.Named())) Assert.True(x.Tensor.equal(y.Tensor), $"{x.Name} differs between two runs of one seed");
        Assert.True(FashionClassifier.Accuracy(plan, a, images, labels) > 0.9);
        Assert.True(losses.TakeLast(8).Average() < losses.Take(8).Average() / 2, $"loss {losses[0]} → {losses[^1]}");
    }

    [Fact]
    public void Weights_RoundTripThroughSafetensors_AndAForeignFileIsNamed()
    {
        using var scope = torch.NewDisposeScope();
        var plan = new FashionClassifierConfig(Channels1: 4, Channels2: 8, Features: 16).Plan().OrThrow();
        using var w = Params.Init(plan.Module, new Generator(2));
        var dir = Directory.CreateTempSubdirectory("fdfmnist-");
        try
        {
            var path = Path.Combine(dir.FullName, "c.safetensors");
            FashionClassifierWeights.Save(path, plan, w, new Dictionary<string, string> { ["note"] = "test" });
            var (loadedPlan, loaded) = FashionClassifierWeights.Load(path);
            using var _ = loaded;
            Assert.Equal(plan.Config, loadedPlan.Config);
            foreach (var (x, y) in w.Named().Zip(loaded.Named())) Assert.True(x.Tensor.equal(y.Tensor), x.Name);

            var foreign = Path.Combine(dir.FullName, "other.safetensors");
            Safetensors.Save(foreign, new Dictionary<string, Tensor> { ["x"] = torch.zeros([2]) });
            Assert.Contains($"{foreign}: not a {FashionClassifierWeights.Format} file", Assert.Throws<InvalidDataException>(() => FashionClassifierWeights.Load(foreign)).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ShippedWeights_MatchTheirStatedSha256()
    {
        Assert.Equal(FdFmnist.ShippedSha256, FdFmnist.Sha256Hex(FdFmnist.ShippedBytes()));
        using var fd = FdFmnist.Shipped();
        Assert.Equal(new FashionClassifierConfig(), fd.Plan.Config);
    }

    [FashionMnistFact]
    public void ShippedWeights_ReachTheStatedTestAccuracy()
    {
        using var fd = FdFmnist.Shipped();
        var (images, labels) = FashionMnist.Load(FashionMnist.DefaultDirectory, train: false);
        using var _ = images;
        using var __ = labels;
        var accuracy = FashionClassifier.Accuracy(fd.Plan, fd.Weights, images, labels);
        Assert.True(accuracy >= StatedTestAccuracy - 0.001, $"test accuracy {accuracy:P2}, README states {StatedTestAccuracy:P2}");
    }
}
