using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>What the network predicts; the training layer converts between them.</summary>
public enum PredictionTarget { Noise, Score, V }

/// <summary>
/// A built score network: its config, its parameters (named as PyTorch's state_dict) and a pure forward.
/// <c>t</c> is the value the time embedding sees (e.g. t·999 for a continuous t ∈ [0, 1], or a DDPM step index);
/// conditioning inputs are optional and validated against the config.
/// </summary>
public interface IScoreModel : IDisposable
{
    ModelConfig Config { get; }

    /// <summary>The module tree the parameters were drawn from: names, shapes, counts and MACs, for summaries.</summary>
    Module Module { get; }

    Params Parameters { get; }

    PredictionTarget Target { get; }

    /// <summary>
    /// (N, *InputShape) and (N) → (N, *OutputShape). <paramref name="dropout"/> non-null means training mode (dropout
    /// layers draw from it); class labels are used as given — classifier-free label dropout belongs to the trainer.
    /// </summary>
    Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null);

    /// <summary>
    /// The forward with an explicit tree of this model's weights: <see cref="Parameters"/> or a view of them in a
    /// precision (<see cref="Params.In"/>; see <see cref="PrecisionModel"/>). Under bfloat16 the output may be bfloat16.
    /// </summary>
    Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null);
}

/// <summary>Optional conditioning: class labels (N) int64 — the null class for classifier-free guidance — and a metadata vector (N, M).</summary>
public sealed record Conditioning(Tensor? Labels = null, Tensor? Metadata = null);

/// <summary>A validated model: its config and module tree, and how to draw its weights. Building never re-validates.</summary>
public interface IModelPlan : IDeclared
{
    ModelConfig Config { get; }

    IScoreModel Build(Generator generator);
}

/// <summary>A built model's plan and parameters, and what every architecture does with them alike.</summary>
public abstract class ScoreModel<TPlan>(TPlan plan, Generator generator) : IScoreModel where TPlan : IModelPlan
{
    public TPlan Plan { get; } = plan;

    public Params Parameters { get; } = Params.Init(plan.Module, generator);

    public ModelConfig Config => Plan.Config;

    public Module Module => Plan.Module;

    public PredictionTarget Target => Config.Target;

    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null) => Forward(Parameters, x, t, conditioning, dropout);

    public abstract Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null);

    public void Dispose()
    {
        Parameters.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The batch size N of x (N, *InputShape) and t (N), after checking them and that the conditioning holds only what the
    /// model takes (<paramref name="labels"/>, <paramref name="metadata"/>); every error names the model.
    /// </summary>
    protected long CheckInputs(string name, Tensor x, Tensor t, Conditioning? conditioning, bool labels = false, bool metadata = false)
    {
        if (!labels && conditioning?.Labels is not null) throw new ArgumentException($"{name}: this model takes no class labels", nameof(conditioning));
        if (!metadata && conditioning?.Metadata is not null) throw new ArgumentException($"{name}: this model takes no metadata vector", nameof(conditioning));
        Blocks.Guard.Input(name, Config.InputShape, x);
        var n = x.size(0);
        if (t.shape is not [var tn] || tn != n) throw new ShapeException(name, $"t [{n}]", t.shape);
        return n;
    }
}
