using Diffusion.Architectures;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary><c>diffusion config PRESET</c>: the JSON it prints, saved and passed back, is the same model.</summary>
public class ConfigCommandTests
{
    [Theory]
    [InlineData("mlp-seed")]
    [InlineData("dit-s-8")]
    [InlineData("unet28")]
    public void The_printed_json_passed_back_builds_the_same_model(string preset)
    {
        var printed = CliRunner.Run("config", preset);
        Assert.True(printed.ExitCode == 0, printed.Stderr);
        Assert.Equal(Presets.Get(preset).ToJson(), printed.Stdout.TrimEnd('\n'));

        var file = Path.Combine(Support.TempDir("config"), $"{preset}.json");
        var written = CliRunner.Run("config", preset, "--out", file);
        Assert.True(written.ExitCode == 0, written.Stderr);
        Assert.Equal(printed.Stdout.TrimEnd('\n'), File.ReadAllText(file).TrimEnd('\n'));

        var fromPreset = CliRunner.Run("summary", preset);
        var fromFile = CliRunner.Run("summary", file);
        Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
        Assert.Equal(fromPreset.Stdout, fromFile.Stdout);
        Assert.Equal(Presets.Get(preset), Presets.Resolve(file));
    }

    [Fact]
    public void An_unknown_preset_lists_the_known_ones()
    {
        var result = CliRunner.Run("config", "dit-q-3");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("dit-q-3", result.Stderr);
        foreach (var name in Presets.Names) Assert.Contains(name, result.Stderr);
    }
}
