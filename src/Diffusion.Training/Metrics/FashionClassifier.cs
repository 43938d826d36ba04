using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Training.Metrics;

/// <summary>
/// The feature network of FD-FMNIST: a small conv net for 1 × 28 × 28 images in [−1, 1]. Two stages of
/// conv 3×3 → GroupNorm → SiLU → max-pool 2 (28 → 14 → 7), a flatten, a linear feature layer with SiLU (the features,
/// as Inception's pool3 is FID's), and a linear head over the 10 classes. Defaults: 32 and 64 channels, 128 features,
/// 421,834 parameters, 4.24 M multiply-accumulates an image. The shipped weights reach 91.02 % test accuracy.
/// </summary>
public sealed record FashionClassifierConfig(int Channels1 = 32, int Channels2 = 64, int Features = 128, int Classes = 10, int ImageSize = 28)
{
    public Checked<FashionClassifierPlan> Plan() => Checked.Of(
        [
            .. Rules.Positive(Channels1, "classifier", "channels1"), .. Rules.Positive(Channels2, "classifier", "channels2"),
            .. Rules.Positive(Features, "classifier", "features"), .. Rules.Positive(Classes, "classifier", "classes"),
            .. Rules.Require(ImageSize >= 4 && ImageSize % 4 == 0, "classifier", $"image_size={ImageSize} must be a positive multiple of 4 (two 2× poolings)"),
        ],
        () => new FashionClassifierPlan(this));
}

/// <summary>The layers of <see cref="FashionClassifierConfig"/>, declared once: names, shapes, parameters and MACs derive from here.</summary>
public sealed record FashionClassifierPlan(FashionClassifierConfig Config)
{
    private int Half => Config.ImageSize / 2;
    private int Quarter => Config.ImageSize / 4;
    private int Flat => Config.Channels2 * Quarter * Quarter;

    public Leaf<ConvSpec> Conv1 => field ??= new ConvSpec(2, 1, Config.Channels1, 3, Padding: 1).Declare("conv1", [1, Config.ImageSize, Config.ImageSize]);
    public Leaf<GroupNormSpec> Norm1 => field ??= GroupNormSpec.For(Config.Channels1).Declare("norm1", [Config.Channels1, Config.ImageSize, Config.ImageSize]);
    public Leaf<ConvSpec> Conv2 => field ??= new ConvSpec(2, Config.Channels1, Config.Channels2, 3, Padding: 1).Declare("conv2", [Config.Channels1, Half, Half]);
    public Leaf<GroupNormSpec> Norm2 => field ??= GroupNormSpec.For(Config.Channels2).Declare("norm2", [Config.Channels2, Half, Half]);
    public Leaf<LinearSpec> Feature => field ??= new LinearSpec(Flat, Config.Features).Declare("feature");
    public Leaf<LinearSpec> Head => field ??= new LinearSpec(Config.Features, Config.Classes).Declare("head");

    public Module Module => field ??= Module.Group("", "FashionClassifier", [Config.Classes],
    [
        Conv1.Module, Norm1.Module, Module.Op("act1", "SiLU", [Config.Channels1, Config.ImageSize, Config.ImageSize]),
        Module.Op("pool1", "MaxPool2d", [Config.Channels1, Half, Half]),
        Conv2.Module, Norm2.Module, Module.Op("act2", "SiLU", [Config.Channels2, Half, Half]),
        Module.Op("pool2", "MaxPool2d", [Config.Channels2, Quarter, Quarter]),
        Module.Op("flatten", "Flatten", [Flat]),
        Feature.Module, Module.Op("act3", "SiLU", [Config.Features]),
        Head.Module,
    ]);
}

/// <summary>The classifier's forward, a pure function of its parameters and the images.</summary>
public static class FashionClassifier
{
    /// <summary>(N, 1, S, S) → (N, Features): the activations FD-FMNIST compares.</summary>
    public static Tensor Features(FashionClassifierPlan plan, Params w, Tensor images)
    {
        var size = plan.Config.ImageSize;
        if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != size || images.size(3) != size)
            throw new ShapeException("classifier", $"images [N, 1, {size}, {size}]", images.shape);
        using var scope = torch.NewDisposeScope();
        var h = F.max_pool2d(F.silu(plan.Norm1.Forward(w, plan.Conv1.Forward(w, images))), 2);     // (N, C1, S/2, S/2)
        h = F.max_pool2d(F.silu(plan.Norm2.Forward(w, plan.Conv2.Forward(w, h))), 2);             // (N, C2, S/4, S/4)
        return F.silu(plan.Feature.Forward(w, h.flatten(1))).MoveToOuterDisposeScope();          // (N, Features)
    }

    /// <summary>(N, 1, S, S) → (N, Classes) unnormalised log-probabilities.</summary>
    public static Tensor Logits(FashionClassifierPlan plan, Params w, Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        return plan.Head.Forward(w, Features(plan, w, images)).MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy of logits (N, K) against int64 labels (N): −mean log softmax(logits)[label].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        return F.log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean().neg().MoveToOuterDisposeScope();
    }

    /// <summary>Fraction of <paramref name="images"/> whose arg-max class is the label, in batches without gradients.</summary>
    public static double Accuracy(FashionClassifierPlan plan, Params w, Tensor images, Tensor labels, int batch = 1000)
    {
        using var noGrad = torch.no_grad();
        long correct = 0;
        var n = images.size(0);
        for (long start = 0; start < n; start += batch)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(batch, n - start);
            var predicted = Logits(plan, w, images.narrow(0, start, count)).argmax(1); // (B)
            correct += predicted.eq(labels.narrow(0, start, count)).sum().item<long>();
        }
        return (double)correct / n;
    }

    /// <summary>Features of many images in batches without gradients: (N, 1, S, S) → (N, Features) float32.</summary>
    public static Tensor FeaturesBatched(FashionClassifierPlan plan, Params w, Tensor images, int batch = 500)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < images.size(0); start += batch)
            parts.Add(Features(plan, w, images.narrow(0, start, Math.Min(batch, images.size(0) - start))));
        return torch.cat(parts.ToArray(), 0).MoveToOuterDisposeScope();
    }
}
