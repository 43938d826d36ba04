using Diffusion.Architectures;
using Diffusion.Cli.Commands;
using Xunit;

namespace Diffusion.Snapshot.Tests;

/// <summary>Approved model summaries: every preset (from its plan, no weights allocated where the config allows), hand-built models, and the CLI's JSON.</summary>
public class SummarySnapshotTests
{
    public static TheoryData<string> PresetNames => new(Presets.Names.Order(StringComparer.Ordinal));

    [Theory, MemberData(nameof(PresetNames))]
    public void Preset(string name) => Snapshot.Match(ModelSummary.Of(Presets.Get(name)).ToText(), parameters: name);

    /// <summary>A hand-built class-conditional DiT with learned sigma on 16×16×3 images, summarised from the built model at batch 2.</summary>
    [Fact]
    public void Custom_dit()
    {
        using var g = new Diffusion.Torch.Generator(0);
        using var model = new DiTConfig(InputSize: 16, PatchSize: 4, InChannels: 3, HiddenSize: 64, Depth: 2, NumHeads: 4, MlpRatio: 2,
            NumClasses: 10).Build(g);
        Snapshot.Match(ModelSummary.Of(model, [2, 3, 16, 16]).ToText());
    }

    /// <summary>A hand-built U-ViT with a class token, an MLP time embedding, no qkv bias and no final conv; markdown, two levels.</summary>
    [Fact]
    public void Custom_uvit_markdown() =>
        Snapshot.Match(ModelSummary.Of(new UViTConfig(ImgSize: 8, PatchSize: 2, InChans: 1, EmbedDim: 32, Depth: 2, NumHeads: 2,
            MlpTimeEmbed: true, NumClasses: 11, Conv: false), depth: 2).ToMarkdown());

    [Fact]
    public void Custom_mlp()
    {
        using var g = new Diffusion.Torch.Generator(0);
        using var model = new MlpConfig(DataDim: 3, Hidden: 48, TimeDim: 16, Depth: 4).Build(g);
        Snapshot.Match(ModelSummary.Of(model, [8, 3]).ToText());
    }

    [Fact]
    public void Cli_json_dit_s_8()
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, SummaryCommand.Run("dit-s-8", null, 2, "json", stdout, stderr));
        Assert.Equal("", stderr.ToString());
        Snapshot.Match(stdout.ToString());
    }

    [Theory]
    [InlineData("no-such-model", null, "neither a preset")]
    [InlineData("dit28", "1x3x28", "expected input [N, 1, 28, 28]")]
    [InlineData("dit28", "1xAx28x28", "is not a shape like 1x3x32x32")]
    public void Cli_errors_are_one_line_and_exit_non_zero(string model, string? input, string message)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(1, SummaryCommand.Run(model, input, null, "text", stdout, stderr));
        Assert.Equal("", stdout.ToString());
        Assert.Contains(message, stderr.ToString());
        Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Cli_reads_a_json_config_and_reports_invalid_ones_on_one_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"summary-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, new DiTConfig(InputSize: 8, PatchSize: 2, HiddenSize: 32, Depth: 1, NumHeads: 2).ToJson());
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Assert.Equal(0, SummaryCommand.Run(path, "3x4x8x8", 1, "markdown", stdout, stderr));
            Assert.Contains("| **DiT** | DiT | `[3, 8, 8, 8]` |", stdout.ToString());
            File.WriteAllText(path, new DiTConfig(InputSize: 30, PatchSize: 4, HiddenSize: 130, NumHeads: 3).ToJson());
            stderr = new StringWriter();
            Assert.Equal(1, SummaryCommand.Run(path, null, null, "text", new StringWriter(), stderr));
            // A plan's own problems first, then each child's in declaration order.
            Assert.Equal("error: invalid model config: dit.pos_embed: hidden_size=130 must be divisible by 4 (2-D sine-cosine embedding); "
                + "dit.blocks: heads=3 does not divide dim=130; dit.x_embedder: patch_size=4 does not divide spatial size 30\n",
                stderr.ToString().Replace("\r\n", "\n"));
        }
        finally { File.Delete(path); }
    }
}
