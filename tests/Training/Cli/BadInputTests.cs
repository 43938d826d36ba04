using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary>Bad files, configs and a trained run shared by the table below (built once: training the run takes seconds).</summary>
public sealed class BadInputFixture
{
    public string Dir { get; } = Support.TempDir("bad-input");

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public BadInputFixture()
    {
        var unet = JsonNode.Parse(UNetPresets.UNet28.ToJson())!.AsObject();
        void Write(string name, Action<JsonObject> edit)
        {
            var copy = unet.DeepClone().AsObject();
            edit(copy);
            File.WriteAllText(Path(name), copy.ToJsonString());
        }
        Write("typo.json", o => { o["chanels"] = o["channels"]!.DeepClone(); o.Remove("channels"); });
        Write("deep.json", o => o["num_res_blocks"] = 1000000000);
        Write("wide.json", o => o["channels"] = 1000000000);
        Write("exponent.json", o => o["channels"] = JsonNode.Parse("1e9"));
        File.WriteAllText(Path("broken.json"), "{ \"kind\": \"unet\", ");

        using var scope = torch.NewDisposeScope();
        var points = torch.randn([64, 2], new Generator(1));
        Safetensors.Save(Path("nan.safetensors"), new Dictionary<string, Tensor> { ["data"] = torch.cat([points, torch.full([1, 2], double.NaN)], 0) });
        Safetensors.Save(Path("int.safetensors"), new Dictionary<string, Tensor> { ["data"] = torch.zeros([8, 2], ScalarType.Int32) });
        Safetensors.Save(Path("scalar.safetensors"), new Dictionary<string, Tensor> { ["data"] = torch.tensor(new[] { 1f }, []) });
        Safetensors.Save(Path("labels.safetensors"), new Dictionary<string, Tensor> { ["data"] = points, ["labels"] = torch.zeros([63], ScalarType.Int64) });
        File.WriteAllBytes(Path("garbage.safetensors"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);

        var train = CliRunner.Run("train", "--model", "mlp-seed", "--data", "moons", "--steps", "2", "--checkpoint-every", "0", "--out", Path("run"));
        if (train.ExitCode != 0) throw new InvalidOperationException($"fixture run failed: {train.Stderr}");
        Run = Path("run");
    }

    public string Run { get; }
}

/// <summary>
/// The error contract, through the built CLI as a child process: every bad invocation ends in one "error: …" naming the
/// flag, file or field and what was expected, exit code 2 for usage errors (flags) and 1 otherwise, and no stack trace.
/// </summary>
public class BadInputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>
{
    /// <summary>Arguments (with {dir} and {run} filled in), the exit code, and what the error must name.</summary>
    public static TheoryData<string, int, string[]> Cases => new()
    {
        { "sample --checkpoint {run} --tol 0", 2, ["--tol 0", "(0, 0.1]"] },
        { "sample --checkpoint {run} --tol NaN", 2, ["--tol NaN"] },
        { "sample --checkpoint {run} --tol -1", 2, ["--tol -1"] },
        { "sample --checkpoint {run} --n 0", 2, ["--n 0"] },
        { "sample --checkpoint {run} --batch -3", 2, ["--batch -3"] },
        { "train --model mlp-seed --data moons --lr NaN", 2, ["--lr NaN", "lr="] },
        { "train --model mlp-seed --data moons --grad-clip -1", 2, ["--grad-clip -1"] },
        { "train --model mlp-seed --data moons --bogus 3", 2, ["--bogus"] },
        { "sample --checkpoint {run} --sampler nope", 2, ["--sampler: unknown sampler 'nope'", "edm-heun"] },
        { "train --model mlp-seed --data moons --sde nope --out {dir}/never", 2, ["--sde: unknown"] },
        { "summary {dir}/typo.json", 1, ["typo.json $.chanels", "did you mean `channels`?"] },
        { "summary {dir}/deep.json", 1, ["num_res_blocks=1000000000 exceeds the limit"] },
        { "summary {dir}/wide.json", 1, ["channels=1000000000 exceeds the limit"] },
        { "summary {dir}/exponent.json", 1, ["exponent.json $.channels", "integer"] },
        { "train --model {dir}/typo.json --data moons --out {dir}/never", 1, ["typo.json $.chanels"] },
        { "train --model {dir}/broken.json --data moons --out {dir}/never", 1, ["broken.json"] },
        { "train --model mlp-seed --data {dir}/nan.safetensors --out {dir}/never", 1, ["nan.safetensors", "non-finite", "row 64"] },
        { "train --model mlp-seed --data {dir}/int.safetensors --out {dir}/never", 1, ["int.safetensors", "Int32", "float32"] },
        { "train --model mlp-seed --data {dir}/scalar.safetensors --out {dir}/never", 1, ["scalar.safetensors", "rank"] },
        { "train --model mlp-seed --data {dir}/labels.safetensors --out {dir}/never", 1, ["labels.safetensors", "63 labels for 64 data rows"] },
        { "train --model mlp-seed --data {dir}/garbage.safetensors --out {dir}/never", 1, ["garbage.safetensors"] },
        { "train --model mlp-seed --data moons --batch 1000000000 --out {dir}/never", 1, ["training needs", "--batch", "--no-memory-check"] },
        { "sample --checkpoint {run} --n 2147483647 --batch 2147483647", 1, ["sampling needs", "--batch"] },
        { "sample --checkpoint {dir}/nowhere", 1, ["nowhere"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_invocation_is_one_error_naming_what_was_wrong(string arguments, int exitCode, string[] named)
    {
        var args = arguments.Replace("{dir}", fixture.Dir).Replace("{run}", fixture.Run).Split(' ');
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, expected {exitCode}: {result.Stderr}");
        // Notes (the memory estimate of a run that fits) may come first; then "error: " lines (a config's problems follow, indented; a parse may report several).
        Assert.Contains(result.Stderr.Split('\n'), line => line.StartsWith("error: ", StringComparison.Ordinal));
        foreach (var name in named) Assert.Contains(name, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        var result = CliRunner.Run("summary", System.IO.Path.Combine(fixture.Dir, "typo.json"));
        Assert.DoesNotContain("   at ", result.Stderr);
        var verbose = CliRunner.Run("train", "--model", System.IO.Path.Combine(fixture.Dir, "typo.json"), "--data", "moons", "--verbose");
        Assert.Equal(1, verbose.ExitCode);
        Assert.Contains("   at ", verbose.Stderr);
        Assert.Contains("ConfigException", verbose.Stderr);
    }

    [Fact]
    public void Sampling_in_batches_keeps_the_first_samples_for_the_outputs()
    {
        var result = CliRunner.Run("sample", "--checkpoint", fixture.Run, "--n", "40000", "--batch", "20000", "--steps", "2", "--metrics", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("40000 samples in batches of 20000", result.Stdout);
        Assert.Contains("\"n\":40000", result.Stdout);
    }
}
