using System.Text.Json;
using Diffusion.Training.Tests.Cli;
using Xunit;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>End to end: a tiny mlp-seed trained on moons under VP, VE and DDPM, sampled by every σ-space sampler through the CLI.</summary>
public class SigmaSamplerCliTests
{
    [Theory]
    [InlineData("vp")]
    [InlineData("ve")]
    [InlineData("ddpm")]
    public void Every_sigma_sampler_runs_on_a_trained_checkpoint_and_reports_its_nfe(string sde)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sigma-cli-{sde}-{Guid.NewGuid():N}");
        try
        {
            var train = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--sde", sde, "--steps", "200", "--batch", "128", "--out", dir);
            Assert.True(train.ExitCode == 0, train.Stderr);
            foreach (var (sampler, grid, steps, nfe) in new[]
                     {
                         ("edm-heun", "karras", 18, 35), ("edm-sde", "uniform", 10, 19), ("dpmpp-2m", "logsnr", 12, 12),
                         ("dpmpp-2m-sde", "karras", 10, 10), ("unipc", "uniform", 8, 8), ("euler", "uniform", 10, 10),
                     })
            {
                var run = CliRunner.Run("sample", "--checkpoint", dir, "--sampler", sampler, "--grid", grid, "--steps", $"{steps}", "--n", "64", "--json");
                Assert.True(run.ExitCode == 0, run.Stderr);
                using var json = JsonDocument.Parse(run.Stdout.TrimEnd().Split('\n')[^1]);
                Assert.Equal(nfe, json.RootElement.GetProperty("nfe").GetInt32());
                Assert.Equal(sampler, json.RootElement.GetProperty("sampler").GetString());
                Assert.Equal(grid, json.RootElement.GetProperty("grid").GetString());
                Assert.Contains($"({nfe} network evaluations)", run.Stdout);
            }
            var bad = CliRunner.Run("sample", "--checkpoint", dir, "--sampler", "unipc", "--grid", "cosine");
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("--grid: unknown σ grid 'cosine'; known: karras, uniform, logsnr", bad.Stdout + bad.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
