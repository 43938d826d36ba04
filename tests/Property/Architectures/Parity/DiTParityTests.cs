using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// Our DiT against Fixtures/parity/dit.py, a transcription of facebookresearch/DiT models.py (timm's PatchEmbed,
/// Attention and Mlp inlined). Every parameter is redrawn, so the adaLN-zero modulations and the zero final layer take
/// part; pos_embed stays the frozen sine-cosine table we built, and is checked separately against get_2d_sincos_pos_embed.
/// </summary>
public class DiTParityTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<ParityCase> Cases =
    [
        new("dit-s-2", Presets.Get("dit-s-2").ToJson(), [0, 500, 999], Labels: [0, 999, 1000], Keep: n => n == "pos_embed"), // 1000: null class
        new("dit28", Presets.Get("dit28").ToJson(), [0, 17, 500, 999], Keep: n => n == "pos_embed"),                          // unconditional
        new("dit16-cond", new DiTConfig(InputSize: 16, PatchSize: 4, InChannels: 3, HiddenSize: 64, Depth: 2, NumHeads: 4, NumClasses: 10).ToJson(),
            [0, 17, 500, 999], Labels: [0, 5, 9, 10], Keep: n => n == "pos_embed"),
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, ParityResult>> Results = new(() => ParityRun.Execute(Cases,
        model => new Dictionary<string, Tensor> { ["pos_embed"] = model.Parameters.Named().Single(n => n.Name == "pos_embed").Tensor }));

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Matches_facebookresearch_DiT(string name) => ParityAssert.Close(name, Results.Value[name], output);

    /// <summary>Our PosEmbed.SinCos2D against models.py's get_2d_sincos_pos_embed (numpy float64, cast to float32).</summary>
    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Pos_embed_is_get_2d_sincos_pos_embed(string name)
    {
        var r = Results.Value[name];
        Assert.True(r.Error is null, $"{name}: {r.Error}");
        var ours = r.OurExtras["pos_embed"];
        var theirs = r.Extras["pos_embed_official"];
        Assert.Equal(theirs.Length, ours.Length);
        var worst = ours.Zip(theirs, (a, b) => Math.Abs((double)a - b)).Max();
        output.WriteLine($"{name}: pos_embed max |ours - theirs| = {worst:E3}");
        Assert.True(worst <= 1e-6, $"{name}: pos_embed differs from get_2d_sincos_pos_embed by {worst:E3}");
    }
}
