using Diffusion.Blocks;
using Diffusion.Primitives;
using Xunit;

namespace Diffusion.Property.Tests.Blocks;

/// <summary>Every problem is reported exactly once, however many there are (a guard against lossy list concatenation).</summary>
public class ValidationCompletenessTests
{
    [Fact]
    public void Downsample_reports_each_problem_once()
    {
        var problems = Downsample.Plan(new DownsampleConfig(0, 0, new Spatial(7, 5), DownsampleKind.StridedConv), "d").Problems.ToList();
        Assert.Equal(4, problems.Count);
        Assert.Equal(4, problems.Distinct().Count());
        Assert.Contains(problems, p => p.Contains("in_channels=0"));
        Assert.Contains(problems, p => p.Contains("out_channels=0"));
        Assert.Contains(problems, p => p.Contains("spatial size 7 cannot be halved"));
        Assert.Contains(problems, p => p.Contains("spatial size 5 cannot be halved"));
    }

    [Fact]
    public void Encoder_stage_reports_every_layers_problems_once()
    {
        // 48 channels with 32 groups fails in each of the 3 ResBlocks (norm2 of each, norm1 of the later two)
        // and in each attention's norm; the 7×7 map cannot be halved.
        var config = new EncoderStageConfig(In: 48, Out: 48, Size: new Spatial(7, 7), Layers: 3, TembDim: 16, Attention: true, Heads: 4,
            Res: new ResOptions(Groups: 32));
        var problems = EncoderStage.Plan(config, "enc").Problems.ToList();
        Assert.Equal(problems.Count, problems.Distinct().Count());
        for (var i = 0; i < 3; i++)
        {
            Assert.Contains(problems, p => p.StartsWith($"enc.resnets.{i}", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith($"enc.attentions.{i}", StringComparison.Ordinal));
        }
        Assert.Contains(problems, p => p.StartsWith("enc.downsamplers.0", StringComparison.Ordinal) && p.Contains("cannot be halved"));
    }
}
