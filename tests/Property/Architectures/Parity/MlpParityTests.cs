using Diffusion.Architectures;
using Diffusion.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// Our MLP against Fixtures/parity/mlp_seed.py, the seed notes' SimpleScoreNetwork (net.0 … net.2·depth). The
/// shared-time case (every row at one t, as in a sampler step) takes MlpScoreNet's split first-layer path.
/// </summary>
public class MlpParityTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<ParityCase> Cases =
    [
        new("mlp-seed", Presets.Get("mlp-seed").ToJson(), [0, 0.25, 1, 17, 500, 999]),
        new("mlp-seed.shared-t", Presets.Get("mlp-seed").ToJson(), [0.37, 0.37, 0.37, 0.37, 0.37]),
        new("mlp-deep-wide", new MlpConfig(DataDim: 3, Hidden: 256, TimeDim: 64, Depth: 5).ToJson(), [0, 0.5, 1, 250, 999]),
        new("mlp-deep-wide.shared-t", new MlpConfig(DataDim: 3, Hidden: 256, TimeDim: 64, Depth: 5).ToJson(), [999, 999, 999]),
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, ParityResult>> Results = new(() => ParityRun.Execute(Cases));

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Matches_the_seed_notes_SimpleScoreNetwork(string name) => ParityAssert.Close(name, Results.Value[name], output);
}
