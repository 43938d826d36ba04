using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using static LanguageExt.Prelude;

namespace Diffusion.Architectures;

/// <summary>
/// The MLP score network for low-dimensional data (the seed notes' SimpleScoreNetwork):
/// input = concat(x, sinusoidal(t, TimeDim)); Linear → SiLU → (Linear → SiLU) × (Depth − 1) → Linear.
/// Defaults (data 2, hidden 128, time 32, 3 hidden layers) give 37,762 parameters (preset <c>mlp-seed</c>).
/// </summary>
public sealed record MlpConfig(int DataDim = 2, int Hidden = 128, int TimeDim = 32, int Depth = 3,
    Activation Activation = Activation.SiLU, PredictionTarget Target = PredictionTarget.Noise) : ModelConfig
{
    public override long[] InputShape => [DataDim];

    public SinusoidalSpec Time => new(TimeDim);

    /// <summary>net.0, net.2, … as the seed's nn.Sequential names them (activations sit at the odd indices).</summary>
    public IReadOnlyList<LinearSpec> LinearLayers =>
        Enumerable.Range(0, Depth + 1).Select(i => new LinearSpec(i == 0 ? DataDim + TimeDim : Hidden, i == Depth ? DataDim : Hidden)).ToList();

    public override Seq<string> Check() =>
        Rules.Positive(DataDim, "mlp", "data_dim") + Rules.Positive(Hidden, "mlp", "hidden") + Rules.Positive(Depth, "mlp", "depth")
        + Time.Check("mlp.time_embedding");

    protected override IScoreModel Create(Generator generator) => new MlpScoreNet(this, generator);
}

public sealed record MlpParams(IReadOnlyList<LinearParams> Linears) : Params
{
    public override IEnumerable<NamedTensor> Named() => Linears.SelectMany((l, i) => Sub($"net.{2 * i}", l));
}

public sealed class MlpScoreNet : IScoreModel
{
    private readonly MlpConfig config;
    private readonly MlpParams parameters;

    public MlpScoreNet(MlpConfig config, Generator generator)
    {
        this.config = config;
        parameters = new MlpParams(config.LinearLayers.Select(s => Linear.Init(s, generator)).ToList());
        parameters.RequiresGrad();
    }

    public ModelConfig Config => config;

    public Params Parameters => parameters;

    public PredictionTarget Target => config.Target;

    public Tensor Forward(Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        if (conditioning is { Labels: not null } or { Metadata: not null })
            throw new ArgumentException("mlp: this model takes no class labels or metadata", nameof(conditioning));
        var shape = x.shape;
        if (shape.Length != 2 || shape[1] != config.DataDim) throw new ShapeException("mlp", $"input [N, {config.DataDim}]", shape);
        using var scope = torch.NewDisposeScope();
        var h = torch.cat([x, Sinusoidal.Embed(config.Time, t)], 1); // (N, data + time)
        for (var i = 0; i < parameters.Linears.Count; i++)
        {
            h = Linear.Forward(parameters.Linears[i], h); // (N, hidden) — (N, data) after the last
            if (i < parameters.Linears.Count - 1) h = Activations.Apply(config.Activation, h);
        }
        return h.MoveToOuterDisposeScope();
    }

    public IReadOnlyList<LayerInfo> Layers
    {
        get
        {
            var rows = new List<LayerInfo> { new("", "MlpScoreNet", 0, [config.DataDim], parameters.Count(), true, 0) };
            rows.Add(new("time_embedding", "Sinusoidal", 1, [config.TimeDim], 0, false, 0));
            var linears = config.LinearLayers;
            for (var i = 0; i < linears.Count; i++)
            {
                var s = linears[i];
                rows.Add(new($"net.{2 * i}", "Linear", 1, [s.Out], s.ParameterCount, true, (long)s.In * s.Out));
                if (i < linears.Count - 1) rows.Add(new($"net.{2 * i + 1}", config.Activation.ToString(), 1, [s.Out], 0, false, 0));
            }
            rows[0] = rows[0] with { Macs = rows.Sum(r => r.Macs) };
            return rows;
        }
    }

    public void Dispose() => parameters.Dispose();
}
