using System.Text.Json;
using Diffusion.Training.Tests.Data;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary><c>diffusion classifier baselines|plot-nfe</c> and <c>sample --metrics</c>'s FD-FMNIST, end to end.</summary>
public class ClassifierCommandTests
{
    private static JsonElement LastJson(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    [FashionMnistFact]
    public void Baselines_RankRealBelowBlurredBelowShuffled()
    {
        // The calibration the README reports, at a small n: each degradation must move the set away from the test images.
        var rows = LastJson(CliRunner.Run("classifier", "baselines", "--n", "300", "--json")).GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("set").GetString()!, r => r.GetProperty("fd_fmnist").GetDouble());
        Assert.True(rows["real (training split)"] < rows["blurred 3×3"], string.Join(", ", rows));
        Assert.True(rows["blurred 3×3"] < rows["blurred 5×5"], string.Join(", ", rows));
        Assert.True(rows["blurred 5×5"] < rows["pixel-shuffled"], string.Join(", ", rows));
        Assert.True(rows["real (training split)"] > 0);
        var bad = CliRunner.Run("classifier", "baselines", "--n", "1");
        Assert.Equal(2, bad.ExitCode); // a flag value the command cannot use: a usage error
        Assert.Contains("--n 1: need 2 … 10000 images", bad.Stderr);
    }

    [FashionMnistFact]
    public void Sample_metrics_on_a_fashion_mnist_run_reports_fd_fmnist()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"fd-cli-{Guid.NewGuid():N}");
        try
        {
            var train = CliRunner.Run("train", "--model", "unet28", "--data", "fashion-mnist", "--sde", "ddpm", "--steps", "1", "--batch", "2", "--out", dir);
            Assert.True(train.ExitCode == 0, train.Stderr);
            var json = LastJson(CliRunner.Run("sample", "--checkpoint", dir, "--sampler", "ddim", "--steps", "2", "--n", "20", "--metrics", "--json"));
            var fd = json.GetProperty("fd_fmnist").GetDouble();
            Assert.True(double.IsFinite(fd) && fd > 0, $"fd_fmnist {fd}");
            Assert.Equal(2, json.GetProperty("nfe").GetInt32());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PlotNfe_DrawsAPngAndPrintsTheTable_FromSampleJsonLines()
    {
        var dir = Directory.CreateTempSubdirectory("fd-nfe-");
        try
        {
            var rows = Path.Combine(dir.FullName, "rows.jsonl");
            File.WriteAllLines(rows,
            [
                "some progress line",
                """{"n":200,"nfe":10,"sampler":"ddim","steps":10,"fd_fmnist":80.5}""",
                """{"n":200,"nfe":25,"sampler":"ddim","steps":25,"fd_fmnist":60.25}""",
                """{"n":200,"nfe":9,"sampler":"edm-heun","steps":5,"fd_fmnist":120}""",
                """{"n":200,"nfe":9,"sampler":"edm-heun","steps":5,"swd":0.1}""",
                """{"n":200,"nfe":10,"sampler":"dpmpp-2m","grid":"karras","steps":10,"fd_fmnist":70}""",
                """{"n":200,"nfe":10,"sampler":"dpmpp-2m","grid":"logsnr","steps":10,"fd_fmnist":65}""",
            ]);
            var png = Path.Combine(dir.FullName, "fd.png");
            var r = CliRunner.Run("classifier", "plot-nfe", rows, "--out", png);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png).Take(4));
            Assert.Contains("| ddim | 80.50 (10) | 60.25 (25) |", r.Stdout);
            Assert.Contains("| edm-heun | 120.00 (9) |  |", r.Stdout);
            Assert.Contains("| dpmpp-2m, karras | 70.00 (10) |  |", r.Stdout);                  // one series per σ grid
            Assert.Contains("| dpmpp-2m, logsnr | 65.00 (10) |  |", r.Stdout);

            File.WriteAllLines(rows, ["""{"sampler":"ddim","fd_fmnist":1}"""]);
            var bad = CliRunner.Run("classifier", "plot-nfe", rows, "--out", png);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains($"{rows}:1: not a `diffusion sample --json` result line", bad.Stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
