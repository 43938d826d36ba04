using Diffusion.Architectures;
using Diffusion.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>
/// Our U-ViT against Fixtures/parity/uvit.py, a transcription of baofff/U-ViT libs/uvit.py. NumClasses means the same
/// on both sides: nn.Embedding(num_classes) with labels in [0, num_classes), and no label token when it is 0
/// (uvit.py's -1); a null class for guidance is one of those rows (the ImageNet configs' 1001), here label 10 of 11.
/// </summary>
public class UViTParityTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<ParityCase> Cases =
    [
        new("uvit-small", Presets.Get("uvit-small").ToJson(), [0, 500, 999]),
        new("uvit16-cond", new UViTConfig(ImgSize: 16, PatchSize: 2, InChans: 3, EmbedDim: 64, Depth: 4, NumHeads: 4, NumClasses: 11,
            MlpTimeEmbed: true, Conv: false).ToJson(), [0, 17, 500, 999], Labels: [0, 5, 9, 10]),
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, ParityResult>> Results = new(() => ParityRun.Execute(Cases));

    public static TheoryData<string> Names => new(Cases.Select(c => c.Name));

    [PythonTorchTheory, MemberData(nameof(Names))]
    public void Matches_baofff_UViT(string name) => ParityAssert.Close(name, Results.Value[name], output);
}
