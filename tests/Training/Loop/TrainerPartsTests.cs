using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Loop;
using Diffusion.Training.Data;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Loop;

public class TrainerPartsTests
{
    [Fact]
    public void Clipping_scales_the_total_norm_to_the_maximum()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.zeros(2).requires_grad_();
        var b = torch.zeros(1).requires_grad_();
        ((a * torch.tensor(new float[] { 3, 0 })).sum() + (b * 4).sum()).backward(); // grads (3, 0), (4): norm 5
        var norm = GradClip.ClipByTotalNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 5);
        Assert.Equal(0.6f, a.grad!.ToArray<float>()[0], 5);
        Assert.Equal(0.8f, b.grad!.ToArray<float>()[0], 5);
        Assert.Equal(1.0, GradClip.ClipByTotalNorm([a, b], 10), 4); // under the limit: untouched
    }

    [Fact]
    public void Ema_moves_toward_the_weights_by_one_minus_decay()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(0);
        using var model = new MlpConfig(Hidden: 8, Depth: 1).Build(g);
        using var ema = new Ema(model.Parameters, 0.9);
        var first = model.Parameters.Named().First();
        var before = first.Tensor.detach().clone();
        using (torch.no_grad()) first.Tensor.add_(1.0);
        ema.Update(model.Parameters, updates: 1000); // past the warm-up: the decay is 0.9
        Assert.True(ema.Weights[first.Name].allclose(before + 0.1, 1e-5, 1e-6));
    }

    [Fact]
    public void Ema_decay_warms_up_from_one_tenth()
    {
        using var g = new Generator(0);
        using var model = new MlpConfig(Hidden: 8, Depth: 1).Build(g);
        using var ema = new Ema(model.Parameters, 0.999);
        Assert.Equal(0.1, ema.DecayAt(0), 12);
        Assert.Equal(0.5, ema.DecayAt(8), 12);
        Assert.Equal(0.999, ema.DecayAt(100_000), 12);
        Assert.True(ema.DecayAt(100) < ema.DecayAt(1000));
    }

    [Fact]
    public void Warm_up_is_linear_then_constant()
    {
        var c = new TrainingConfig { Lr = 1e-3, WarmupSteps = 10 };
        Assert.Equal(1e-4, c.LearningRate(0), 12);
        Assert.Equal(1e-3, c.LearningRate(9), 12);
        Assert.Equal(1e-3, c.LearningRate(500), 12);
    }

    [Fact]
    public void Ve_sigma_max_comes_from_the_data_for_2d_sets()
    {
        using var trainer = new Trainer(new MlpConfig(Hidden: 8, Depth: 1), new TrainingConfig { Sde = ProcessKind.Ve, Steps = 1, Batch = 8 }, DataSources.Resolve(DataSet.Moons));
        Assert.InRange(trainer.Config.SigmaMax!.Value, 2.5, 4); // moons spans x ∈ [−1, 2], y ∈ [−0.5, 1]
    }

    [Fact]
    public void Phantom_volumes_are_a_generated_data_source_for_the_3d_unets()
    {
        using var scope = torch.NewDisposeScope();
        using var data = DataSources.Resolve(DataSet.Phantom3d);
        using var g = new Generator(5);
        var batch = data.Next(2, g);
        Assert.Equal([1L, 32, 32, 32], data.SampleShape);
        Assert.Equal([2L, 1, 32, 32, 32], batch.X.shape);
        Assert.Null(batch.Labels);
        Assert.Equal(Presets.Get("unet3d32").InputShape, data.SampleShape);
    }

    [Theory]
    [InlineData(0)] // an unconditional model of labelled images is given no labels
    [InlineData(3)] // a class-conditional one is given the batch's labels (some dropped to the null class)
    public void Labels_reach_a_conditional_model_and_not_an_unconditional_one(int classes)
    {
        var unet = new UNetConfig
        {
            InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1,
            AttentionResolutions = [], MidAttention = false, NormGroups = 4, Dropout = 0, NumClasses = classes,
        };
        using var g = new Generator(2);
        var images = torch.randn([16, 1, 8, 8], g).DetachFromDisposeScope();
        var labels = torch.randint(0, 3, [16], g).DetachFromDisposeScope();
        using var data = new RecordingDataSource(new TensorDataSource("labelled", images, labels, 3));
        var log = new LabelLog();
        using var trainer = new Trainer(new SpyConfig(unet, log), new TrainingConfig { Steps = 3, Batch = 8, LabelDropout = 0.5 }, data);
        trainer.Run();
        Assert.Equal(3, trainer.Step);
        Assert.Equal(3, log.Given.Count);
        if (classes == 0) Assert.All(log.Given, Assert.Null);
        else AssertLabelsGivenOrDropped(log, data, classes);
    }

    /// <summary>Each label the model saw is the batch's, or the null class (p = 0.5 of 24 labels: some dropped, not all).</summary>
    private static void AssertLabelsGivenOrDropped(LabelLog log, RecordingDataSource data, int nullClass)
    {
        var dropped = 0;
        for (var step = 0; step < log.Given.Count; step++)
        {
            var given = log.Given[step]!;
            var batch = data.Labels[step];
            Assert.Equal(batch.Length, given.Length);
            for (var i = 0; i < given.Length; i++)
                if (given[i] == nullClass) dropped++;
                else Assert.Equal(batch[i], given[i]);
        }
        Assert.InRange(dropped, 1, 23);
    }

    /// <summary>Hands out another source's batches and keeps their labels.</summary>
    private sealed class RecordingDataSource(IDataSource inner) : IDataSource
    {
        public List<long[]> Labels { get; } = new();
        public string Name => inner.Name;
        public long[] SampleShape => inner.SampleShape;
        public int? NumClasses => inner.NumClasses;

        public DataBatch Next(int batch, Generator generator)
        {
            var next = inner.Next(batch, generator);
            Labels.Add(next.Labels!.ToArray<long>());
            return next;
        }

        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public void Two_runs_with_one_seed_are_bitwise_equal()
    {
        var config = new TrainingConfig { Steps = 20, Batch = 32, Seed = 3 };
        float[] Train()
        {
            using var t = new Trainer(new MlpConfig(Hidden: 16, Depth: 2), config, DataSources.Resolve(DataSet.Moons));
            t.Run();
            return t.Model.Parameters.Named().SelectMany(p => p.Tensor.detach().ToArray<float>()).ToArray();
        }
        Assert.True(Train().AsSpan().SequenceEqual(Train()));
    }
}
