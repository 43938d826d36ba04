using System.Text.Json;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary><c>diffusion likelihood</c> end to end on a briefly trained mlp-seed on the gaussian set.</summary>
public class LikelihoodCommandTests
{
    [Fact]
    public void Likelihood_of_a_short_gaussian_run_prints_finite_json()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"likelihood-cli-{Guid.NewGuid():N}");
        try
        {
            var train = CliRunner.Run("train", "--model", "mlp-seed", "--data", "gaussian", "--steps", "300", "--batch", "256", "--out", dir);
            Assert.True(train.ExitCode == 0, train.Stderr);
            var run = CliRunner.Run("likelihood", "--checkpoint", dir, "--n", "200", "--probes", "2", "--json");
            Assert.True(run.ExitCode == 0, run.Stderr);
            using var json = JsonDocument.Parse(run.Stdout.Trim().Split('\n')[^1]);
            foreach (var field in new[] { "nll", "nll_se", "bits_per_dim", "nfe", "true_nll" })
                Assert.True(double.IsFinite(json.RootElement.GetProperty(field).GetDouble()), field);
            var nll = json.RootElement.GetProperty("nll").GetDouble();
            Assert.InRange(nll, 0.0, 3.0); // entropy 0.94; a 300-step model is rough but not far off
            Assert.Equal(nll / (2 * Math.Log(2)), json.RootElement.GetProperty("bits_per_dim").GetDouble(), 9);
            var ddpm = CliRunner.Run("likelihood", "--checkpoint", dir, "--estimator", "bogus");
            Assert.Equal(2, ddpm.ExitCode); // an unknown name given to a flag is a usage error
            Assert.Contains("unknown trace estimator 'bogus'", ddpm.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
