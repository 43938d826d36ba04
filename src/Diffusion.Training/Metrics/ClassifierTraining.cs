using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>
/// How the FD-FMNIST classifier is trained: Adam on the cross-entropy, shuffled mini-batches (a fresh permutation every
/// epoch), the learning rate decayed by a cosine to 0 over the run. Every draw (init, permutations) comes from one
/// generator seeded with <see cref="Seed"/>, so a run on CPU is bitwise reproducible.
/// </summary>
public sealed record ClassifierTrainingConfig(int Epochs = 2, int Batch = 128, double LearningRate = 2e-3, ulong Seed = 0)
{
    public IEnumerable<string> Errors() =>
    [
        .. Rules.Positive(Epochs, "classifier training", "epochs"), .. Rules.Positive(Batch, "classifier training", "batch"),
        .. Rules.Require(LearningRate > 0 && double.IsFinite(LearningRate), "classifier training", $"learning_rate={LearningRate} must be positive"),
    ];

    /// <summary>½·lr·(1 + cos(π·step/total)) (Loshchilov &amp; Hutter 2017, without restarts).</summary>
    public double LearningRateAt(int step, int total) => 0.5 * LearningRate * (1 + Math.Cos(Math.PI * step / total));
}

/// <summary>One reported point of a classifier run: the step (1-based), the total, the batch loss.</summary>
public readonly record struct ClassifierProgress(int Step, int TotalSteps, int Epoch, double Loss);

public static class ClassifierTraining
{
    /// <summary>
    /// Trains a fresh classifier of <paramref name="plan"/> on (N, 1, S, S) images in [−1, 1] and int64 labels (N);
    /// returns its parameters (the caller owns them). <paramref name="progress"/> is called after every step.
    /// </summary>
    public static Params Train(FashionClassifierPlan plan, Tensor images, Tensor labels, ClassifierTrainingConfig config,
        Action<ClassifierProgress>? progress = null)
    {
        var errors = config.Errors().ToArray();
        if (errors.Length > 0) throw new ArgumentException(string.Join("; ", errors));
        if (images.size(0) != labels.size(0)) throw new ArgumentException($"{images.size(0)} images but {labels.size(0)} labels");
        var n = images.size(0);
        var stepsPerEpoch = (int)(n / config.Batch); // the last partial batch of each permutation is dropped
        if (stepsPerEpoch < 1) throw new ArgumentException($"batch {config.Batch} is larger than the {n} training images");
        var total = stepsPerEpoch * config.Epochs;
        ThreadPolicy.Apply((double)plan.Module.Macs * config.Batch * 3);

        using var g = new Generator(config.Seed);
        var w = Params.Init(plan.Module, g);
        using var optimizer = torch.optim.Adam(w.Trainable(), config.LearningRate);
        var step = 0;
        for (var epoch = 0; epoch < config.Epochs; epoch++)
        {
            using var permutation = torch.randperm(n, g); // (N) int64
            for (var b = 0; b < stepsPerEpoch; b++)
            {
                using var scope = torch.NewDisposeScope();
                foreach (var group in optimizer.param_groups) group.lr = config.LearningRateAt(step, total);
                var index = permutation.narrow(0, (long)b * config.Batch, config.Batch);
                var loss = FashionClassifier.CrossEntropy(FashionClassifier.Logits(plan, w, images.index_select(0, index)), labels.index_select(0, index));
                loss.backward();
                optimizer.step();
                optimizer.zero_grad();
                step++;
                progress?.Invoke(new ClassifierProgress(step, total, epoch + 1, loss.item<float>()));
            }
        }
        return w;
    }
}
