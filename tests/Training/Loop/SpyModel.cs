using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Training.Tests.Loop;

/// <summary>What a <see cref="SpyModel"/> saw: per training forward, the labels passed in (null when none were).</summary>
public sealed class LabelLog
{
    public List<long[]?> Given { get; } = new();

    /// <summary>Per forward, which samples the wrapped DiT effectively embedded as the null class (when measured).</summary>
    public List<bool[]> EmbeddedNull { get; } = new();
}

/// <summary>
/// Wraps a real config so a <see cref="Loop.Trainer"/> builds a model that records the labels it is given (and,
/// with <paramref name="MeasureEmbedding"/>, which samples the inner model treated as the null class). It takes
/// labels exactly when the inner model does.
/// </summary>
public sealed record SpyConfig(ModelConfig Inner, LabelLog Log, bool MeasureEmbedding = false) : ModelConfig, IClassConditional
{
    public int NumClasses => Inner.ClassCount();
    public override long[] InputShape => Inner.InputShape;
    public override PredictionTarget Target { get; init; } = Inner.Target;
    public override Checked<IModelPlan> PlanModel() => Inner.PlanModel().Map(inner => (IModelPlan)new SpyPlan(this, inner));
}

/// <summary>The inner model's plan, building a <see cref="SpyModel"/> around the inner model.</summary>
public sealed record SpyPlan(SpyConfig Spy, IModelPlan Inner) : IModelPlan
{
    public ModelConfig Config => Spy;
    public Module Module => Inner.Module;
    public IScoreModel Build(Generator generator) => new SpyModel(Spy, Inner.Build(generator), generator);
}

public sealed class SpyModel : IScoreModel
{
    private readonly SpyConfig spy;
    private readonly IScoreModel inner;

    public SpyModel(SpyConfig config, IScoreModel inner, Generator generator)
    {
        spy = config;
        this.inner = inner;
        // adaLN-Zero and zero-initialised heads make a fresh DiT ignore its conditioning; perturb every weight so
        // the null class and a real label give different outputs.
        if (config.MeasureEmbedding)
            using (torch.no_grad())
                foreach (var p in inner.Parameters.Named()) p.Tensor.add_(torch.randn(p.Tensor.shape, generator) * 0.1);
    }

    public ModelConfig Config => spy;
    public Params Parameters => inner.Parameters;
    public PredictionTarget Target => inner.Target;
    public Module Module => inner.Module;

    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null) => Forward(Parameters, x, t, conditioning, dropout);

    public Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        spy.Log.Given.Add(conditioning?.Labels?.ToArray<long>());
        var output = inner.Forward(weights, x, t, conditioning, dropout);
        if (spy.MeasureEmbedding && conditioning?.Labels is { } labels)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var nulls = torch.full_like(labels, spy.NumClasses);
            var asNull = inner.Forward(weights, x.detach(), t, new Conditioning(nulls));             // (N, …)
            var asGiven = inner.Forward(weights, x.detach(), t, new Conditioning(labels));           // (N, …) without label dropout
            var n = x.shape[0];
            var toNull = (output.detach() - asNull).abs().reshape(n, -1).amax([1]);       // (N)
            var toGiven = (output.detach() - asGiven).abs().reshape(n, -1).amax([1]);     // (N)
            spy.Log.EmbeddedNull.Add(toNull.le(toGiven).to(ScalarType.Int64).ToArray<long>().Select(b => b != 0).ToArray());
        }
        return output;
    }

    public void Dispose() => inner.Dispose();
}
