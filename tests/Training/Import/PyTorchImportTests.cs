using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Tests;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Import;
using Diffusion.Training.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Import;

/// <summary>
/// <c>diffusion import pytorch</c> against Fixtures/make_dit_checkpoint.py: a DiT training checkpoint in train.py's layout
/// (<c>{"model", "ema", "opt", "args"}</c>, written by torch.save) and the output of the transcription of DiT's models.py
/// on the EMA weights. The imported run must reproduce it to 1e-5, labels and the null class included.
/// </summary>
public sealed class PyTorchImportTests(ITestOutputHelper output)
{
    private static string Fixture()
    {
        var dir = Support.TempDir("torch-dit");
        PythonProcess.Succeed(TimeSpan.FromMinutes(5), Path.Combine(AppContext.BaseDirectory, "Fixtures", "make_dit_checkpoint.py"), dir);
        return dir;
    }

    private double ImportedError(string fixture, string runDir)
    {
        using var scope = torch.NewDisposeScope();
        using var model = Checkpoint.LoadModel(Checkpoint.Find(runDir)!);
        var inputs = Safetensors.Load(Path.Combine(fixture, "inputs.safetensors"));
        var theirs = Safetensors.Load(Path.Combine(fixture, "outputs.safetensors"))["y"];
        using var noGrad = torch.no_grad();
        var ours = model.Forward(inputs["x"], inputs["t"], inputs.TryGetValue("labels", out var labels) ? new Conditioning(labels) : null);
        Assert.Equal(theirs.shape, ours.shape);
        var worst = RelativeError.Max(ours.contiguous().ToArray<float>(), theirs.contiguous().ToArray<float>());
        output.WriteLine($"max |ours - theirs| / (|theirs| + rms(theirs)) = {worst:E3} over {theirs.numel()} elements");
        return worst;
    }

    [PythonTorchFact]
    public void The_ema_weights_of_a_DiT_training_checkpoint_import_and_reproduce_the_official_model()
    {
        var fixture = Fixture();
        var run = Path.Combine(fixture, "run");
        var config = ModelConfig.FromJson(File.ReadAllText(Path.Combine(fixture, "config.json")));
        using (var imported = PyTorchStateDict.Read(Path.Combine(fixture, "checkpoint.pt"), config, "ema"))
        {
            Assert.Equal(config, imported.Model);
            Assert.Contains("pos_embed", imported.Weights.Keys);
            Checkpoint.SaveImported(run, imported.Model, imported.Training, imported.Weights, imported.Source);
        }
        Assert.True(ImportedError(fixture, run) <= RelativeError.Tolerance);
    }

    /// <summary>
    /// The DDPM layout: a diffusers-named U-Net state dict written by torch.save (diffusion_pytorch_model.bin), imported with
    /// the model config that the diffusers importer maps from the same folder, reproduces the transcription of UNet2DModel.
    /// </summary>
    [PythonTorchFact]
    public void A_ddpm_unet_state_dict_in_diffusers_names_imports_and_reproduces_the_official_model()
    {
        var fixture = DiffusersImportTests.Fixture("ddpm");
        var config = DiffusersUNet.MapConfig(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "unet", "config.json")))!.AsObject());
        var run = Path.Combine(fixture, "pt-run");
        using (var imported = PyTorchStateDict.Read(Path.Combine(fixture, "unet", "diffusion_pytorch_model.bin"), config))
            Checkpoint.SaveImported(run, imported.Model, imported.Training, imported.Weights, imported.Source);
        Assert.True(ImportedError(fixture, run) <= RelativeError.Tolerance);
    }

    [PythonTorchFact]
    public void The_cli_imports_a_run_that_sample_reads_and_names_what_does_not_fit()
    {
        var fixture = Fixture();
        var (file, model, run) = (Path.Combine(fixture, "checkpoint.pt"), Path.Combine(fixture, "config.json"), Path.Combine(fixture, "cli-run"));
        var import = CliRunner.Run("import", "pytorch", file, "--model", model, "--key", "ema", "--out", run, "--json");
        output.WriteLine(import.Stdout + import.Stderr);
        Assert.True(import.ExitCode == 0, import.Stderr);
        Assert.True(JsonNode.Parse(import.Stdout.TrimEnd().Split('\n')[^1])!["ok"]!.GetValue<bool>());
        Assert.True(ImportedError(fixture, run) <= RelativeError.Tolerance);

        // A learned-σ DiT samples from its ε channels; without labels it samples the null class.
        var sample = CliRunner.Run("sample", "--checkpoint", run, "--sampler", "ddim", "--steps", "5", "--n", "2", "--json");
        output.WriteLine(sample.Stdout + sample.Stderr);
        Assert.True(sample.ExitCode == 0, sample.Stderr);

        // A second import into the same run is refused, and the run's latest is untouched.
        var latest = File.ReadAllText(Path.Combine(run, "latest"));
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(run, "latest"));
        var again = CliRunner.Run("import", "pytorch", file, "--model", model, "--key", "ema", "--out", run);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"--out: '{run}' already holds a run", again.Stderr);
        Assert.Equal(latest, File.ReadAllText(Path.Combine(run, "latest")));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(run, "latest")));

        // No key on a training checkpoint: one line naming the dicts it holds, nothing written.
        var noKey = CliRunner.Run("import", "pytorch", file, "--model", model, "--out", Path.Combine(fixture, "no-key"));
        Assert.Equal(1, noKey.ExitCode);
        Assert.Contains("ema", noKey.Stderr);
        Assert.DoesNotContain("   at ", noKey.Stderr);
        Assert.False(Directory.Exists(Path.Combine(fixture, "no-key")));

        // The weights of another model: every mismatch named, no stack trace.
        var wrong = CliRunner.Run("import", "pytorch", file, "--model", "dit28", "--key", "ema", "--out", Path.Combine(fixture, "wrong"));
        output.WriteLine(wrong.Stderr);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("'x_embedder.proj.weight' has shape", wrong.Stderr);
        Assert.DoesNotContain("   at ", wrong.Stderr);
    }
}
