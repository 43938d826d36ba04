using System.Text.Json;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Tests.Cli;
using Diffusion.Training.Tests.Plots;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>End to end: a tiny U-Net briefly trained on smooth 8×8 images, inpainted through the CLI.</summary>
public class InpaintCliTests(ITestOutputHelper output)
{
    /// <summary>Smooth images in [−1, 1]: a tilted plane a·u + b·v with random slopes, so the hidden part follows from the rest.</summary>
    internal static Tensor Planes(int n, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        var u = torch.linspace(-1, 1, 8).reshape(1, 1, 1, 8);
        var v = torch.linspace(-1, 1, 8).reshape(1, 1, 8, 1);
        var a = (torch.rand([n, 1, 1, 1], g) * 2 - 1) * 0.9;
        var b = (torch.rand([n, 1, 1, 1], g) * 2 - 1) * 0.9;
        return (a * u + b * v).contiguous().MoveToOuterDisposeScope();                  // (n, 1, 8, 8)
    }

    [Fact]
    public void Inpaint_fills_a_trained_image_model_and_reports_finite_rmses()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"inpaint-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var data = Path.Combine(dir, "planes.safetensors");
            using (var g = new Generator(0)) Safetensors.Save(data, new Dictionary<string, Tensor> { ["data"] = Planes(2048, g) });
            var model = Path.Combine(dir, "unet8.json");
            File.WriteAllText(model, new UNetConfig
            {
                InChannels = 1, Size = [8, 8], Channels = 16, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [], MidAttention = false, NormGroups = 8, Dropout = 0,
            }.ToJson());
            var run = Path.Combine(dir, "run");
            var train = CliRunner.Run("train", "--model", model, "--data", data, "--sde", "vp", "--steps", "150", "--batch", "64", "--out", run);
            Assert.True(train.ExitCode == 0, train.Stderr);

            var png = Path.Combine(dir, "inpaint.png");
            var result = CliRunner.Run("inpaint", "--checkpoint", run, "--mask", "center", "--n", "4", "--steps", "100", "--seed", "1", "--out", png, "--json");
            Assert.True(result.ExitCode == 0, result.Stderr);
            output.WriteLine(result.Stdout);
            var image = PngDecoder.Decode(File.ReadAllBytes(png));
            Assert.True(image.Width > 0 && image.Height > 0);
            using var json = JsonDocument.Parse(result.Stdout.TrimEnd().Split('\n')[^1]);
            var masked = json.RootElement.GetProperty("rmse_masked").GetDouble();
            var known = json.RootElement.GetProperty("rmse_known").GetDouble();
            Assert.True(double.IsFinite(masked) && double.IsFinite(known), $"{masked} {known}");
            Assert.True(known < 1e-3, $"known-region RMSE {known}");
            Assert.Equal("center", json.RootElement.GetProperty("mask").GetString());

            var random = CliRunner.Run("inpaint", "--checkpoint", run, "--mask", "random:0.5", "--n", "2", "--steps", "20", "--json");
            Assert.True(random.ExitCode == 0, random.Stderr);
            var bad = CliRunner.Run("inpaint", "--checkpoint", run, "--mask", "top");
            Assert.Equal(2, bad.ExitCode); // an unknown name given to a flag is a usage error
            Assert.Contains("--mask: unknown mask 'top'; known: center, left-half, random", bad.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Inpaint_refuses_a_ddpm_model_in_one_line()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"inpaint-ddpm-{Guid.NewGuid():N}");
        try
        {
            var train = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--sde", "ddpm", "--steps", "2", "--batch", "16", "--out", dir);
            Assert.True(train.ExitCode == 0, train.Stderr);
            var run = CliRunner.Run("inpaint", "--checkpoint", dir, "--mask", "left-half");
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("error: inpaint needs a continuous-SDE model (vp, subvp, ve, edm), but the model was trained with ddpm", run.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
