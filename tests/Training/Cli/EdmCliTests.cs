using System.Text.Json;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Sde;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary>
/// End to end: a tiny mlp-seed trained with <c>--sde edm</c>, then sample (the default edm-heun, a multistep SDE sampler on
/// the log-SNR grid, a grid override, and em through σ(t)), likelihood, and the refusals. The wrapping is one
/// function for every σ sampler (<see cref="Diffusion.Training.Sampling.ModelFunctions.ForProcess"/>), so not every sampler runs here.
/// </summary>
public class EdmCliTests
{
    private static JsonElement LastJson(CliRunner.Result run)
    {
        using var json = JsonDocument.Parse(run.Stdout.TrimEnd().Split('\n')[^1]);
        return json.RootElement.Clone();
    }

    [Fact]
    public void An_edm_run_records_its_process_and_samples_with_every_sigma_sampler()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"edm-cli-{Guid.NewGuid():N}");
        try
        {
            var train = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--sde", "edm", "--steps", "400", "--batch", "256", "--out", dir, "--json");
            Assert.True(train.ExitCode == 0, train.Stderr);
            var training = Checkpoint.ReadTrainingConfig(Checkpoint.Find(dir)!);
            Assert.Equal(ProcessKind.Edm, training.Sde);
            Assert.Equal(0.5, training.SigmaData);
            Assert.Equal(80, training.SigmaMax);
            Assert.Contains("\"sde\": \"edm\"", File.ReadAllText(Path.Combine(Checkpoint.Find(dir)!, Checkpoint.TrainingConfigFile)));

            // The default: EDM's Heun on the Karras grid from 80 to 0.002, 18 steps = 35 NFE.
            var heun = CliRunner.Run("sample", "--checkpoint", dir, "--n", "500", "--metrics", "--json");
            Assert.True(heun.ExitCode == 0, heun.Stderr);
            var json = LastJson(heun);
            Assert.Equal("edm-heun", json.GetProperty("sampler").GetString());
            Assert.Equal("karras", json.GetProperty("grid").GetString());
            Assert.Equal(35, json.GetProperty("nfe").GetInt32());
            var swd = json.GetProperty("swd").GetDouble();
            Assert.InRange(swd, 0, 0.3); // moons spans ~3; pure prior noise (σ 80) would be ~30

            foreach (var (sampler, extra, nfe) in new (string, string[], int)[]
                     {
                         ("dpmpp-2m-sde", ["--steps", "12", "--grid", "logsnr"], 12),
                         ("edm-heun", ["--steps", "6", "--sigma-max", "20", "--sigma-min", "0.01", "--rho", "3"], 11),
                         ("em", ["--steps", "50"], 50),
                     })
            {
                var run = CliRunner.Run(["sample", "--checkpoint", dir, "--sampler", sampler, "--n", "64", "--json", .. extra]);
                Assert.True(run.ExitCode == 0, $"{sampler}: {run.Stderr}");
                Assert.Equal(nfe, LastJson(run).GetProperty("nfe").GetInt32());
            }

            var ddpm = CliRunner.Run("sample", "--checkpoint", dir, "--sampler", "ddpm");
            Assert.Equal(2, ddpm.ExitCode);                                              // a sampler the model cannot use: a usage error
            Assert.Contains("--sampler: sampler ddpm needs a discrete DDPM model, but the model was trained with the edm SDE", ddpm.Stdout + ddpm.Stderr);
            var grid = CliRunner.Run("sample", "--checkpoint", dir, "--sampler", "em", "--rho", "3");
            Assert.Equal(2, grid.ExitCode); // a flag combination the command cannot use: a usage error
            Assert.Contains("--rho shape the σ grid of the σ-space samplers, not em", grid.Stdout + grid.Stderr);

            var likelihood = CliRunner.Run("likelihood", "--checkpoint", dir, "--n", "100", "--json");
            Assert.True(likelihood.ExitCode == 0, likelihood.Stderr);
            Assert.True(double.IsFinite(LastJson(likelihood).GetProperty("nll").GetDouble()));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Edm_only_settings_are_refused_elsewhere_and_edm_refuses_other_weightings()
    {
        var vp = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--sde", "vp", "--sigma-data", "0.7", "--steps", "1");
        Assert.Equal(2, vp.ExitCode); // a flag the run's other flags rule out: a usage error
        Assert.Contains("sigma_data=0.7 applies to sde edm only (this run uses vp)", vp.Stdout + vp.Stderr);
        var edm = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--sde", "edm", "--min-snr-gamma", "5", "--weighting", "likelihood", "--steps", "1");
        Assert.Equal(1, edm.ExitCode);
        Assert.Contains("min_snr_gamma=5 does not apply to sde edm", edm.Stdout + edm.Stderr);
        Assert.Contains("weighting=likelihood does not apply to sde edm", edm.Stdout + edm.Stderr);
    }
}
