using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Distributed;
using Diffusion.Training.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Distributed;

/// <summary>
/// Data-parallel training through the CLI on loopback: 2 ranks × B/2 against 1 process × B (the same computation up to
/// the order of floating-point sums), the launcher's checks, and a rank killed mid-run (the job stops within its
/// timeout naming the rank, the last checkpoint loads, --resume finishes).
/// </summary>
public class DataParallelTests(ITestOutputHelper output)
{
    /// <summary>A U-Net of 8×8 one-channel images small enough for 50 CI steps, and its data.</summary>
    private static (string Model, string Data) TinyUNet(string dir)
    {
        var model = new UNetConfig
        {
            InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [], MidAttention = false,
            NormGroups = 4, Dropout = 0,
        };
        var modelFile = Path.Combine(dir, "unet.json");
        File.WriteAllText(modelFile, model.ToJson());
        var dataFile = Path.Combine(dir, "images.safetensors");
        using var scope = torch.NewDisposeScope();
        using (var g = new Generator(3)) Safetensors.Save(dataFile, new Dictionary<string, Tensor> { ["data"] = torch.rand([64, 1, 8, 8], g) * 2 - 1 });
        return (modelFile, dataFile);
    }

    [Theory]
    [InlineData("mlp-seed")]
    [InlineData("unet")]
    public void Two_ranks_with_half_batches_reach_the_weights_of_one_process_with_the_whole_batch(string which)
    {
        var dir = Support.TempDir("ddp-equivalence");
        var (model, data, batch) = which == "unet" ? (TinyUNet(dir) is var u ? (u.Model, u.Data, "8") : default) : ("mlp-seed", "moons", "64");
        string[] Args(string run) => ["train", "--model", model, "--data", data, "--steps", "50", "--batch", batch, "--grad-clip", "1",
            "--out", Path.Combine(dir, run), "--checkpoint-every", "0"];
        var one = CliRunner.Run(Args("one"));
        Assert.True(one.ExitCode == 0, one.Stderr);
        var two = CliRunner.Run([.. Args("two"), "--nproc", "2"]);
        Assert.True(two.ExitCode == 0, two.Stdout + two.Stderr);

        using var scope = torch.NewDisposeScope();
        foreach (var file in new[] { Checkpoint.ModelWeights, Checkpoint.EmaWeights })
        {
            var a = Safetensors.Load(Path.Combine(Checkpoint.Find(Path.Combine(dir, "one"))!, file));
            var b = Safetensors.Load(Path.Combine(Checkpoint.Find(Path.Combine(dir, "two"))!, file));
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            // Relative error of the whole weight vector: ‖a − b‖ / ‖a‖ over every tensor.
            double diff = 0, norm = 0;
            foreach (var (name, t) in a)
            {
                diff += (t - b[name]).square().sum().item<float>();
                norm += t.square().sum().item<float>();
            }
            var rel = Math.Sqrt(diff / norm);
            output.WriteLine($"{which} {file}: relative difference {rel:E2} after 50 steps");
            Assert.True(rel < 1e-5, $"{which} {file}: 2 ranks differ from 1 process by {rel:E2} (relative)");
        }
    }

    [Fact]
    public void A_batch_that_does_not_divide_among_the_ranks_is_refused_naming_both()
    {
        var e = Assert.Throws<ArgumentException>(() => BatchShard.Of(10, 0, 4));
        Assert.Contains("batch 10", e.Message);
        Assert.Contains("4 ranks", e.Message);
        Assert.Equal(new BatchShard(6, 3, 9), BatchShard.Of(9, 2, 3));
    }

    [Fact]
    public void Gradient_buckets_hold_every_parameter_once_in_reverse_order_within_the_bucket_size()
    {
        using var scope = torch.NewDisposeScope();
        // 4-byte floats: 100, 300, 50, 2000 (alone: larger than a bucket), 10, 10 elements; buckets of 1,600 bytes.
        var ps = new long[] { 100, 300, 50, 2000, 10, 10 }.Select(n => torch.zeros(n)).ToArray();
        var buckets = DataParallel.Bucket(ps, 1600);
        Assert.Equal(ps.Reverse(), buckets.SelectMany(b => b));
        Assert.Equal([2, 1, 2, 1], buckets.Select(b => b.Length));                 // [10, 10] [2000] [50, 300] [100]
        Assert.All(buckets.Where(b => b.Length > 1), b => Assert.True(b.Sum(t => t.numel() * 4) <= 1600));
    }

    [Fact]
    public void A_rank_killed_mid_run_stops_the_job_naming_it_and_resume_finishes_the_run()
    {
        var dir = Support.TempDir("ddp-fault");
        var run = Path.Combine(dir, "run");
        string[] args = ["train", "--model", "mlp-seed", "--data", "moons", "--steps", "400", "--batch", "32", "--checkpoint-every", "10",
            "--out", run, "--nproc", "2", "--dist-timeout", "10"];
        var launcher = CliRunner.StartProcess(args);
        var pids = new Dictionary<int, int>();
        var stderr = new System.Text.StringBuilder();
        launcher.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stderr) stderr.AppendLine(line);
                var m = System.Text.RegularExpressions.Regex.Match(line, @"rank (\d+) of 2 \(pid (\d+)\) joined");
                if (m.Success) lock (pids) pids[int.Parse(m.Groups[1].Value)] = int.Parse(m.Groups[2].Value);
            }
        };
        launcher.BeginErrorReadLine();
        launcher.OutputDataReceived += (_, _) => { };
        launcher.BeginOutputReadLine();
        try
        {
            var wait = Stopwatch.StartNew();
            while (Checkpoint.Find(run) is null || pids.Count < 2)
            {
                Assert.True(wait.Elapsed < TimeSpan.FromSeconds(90) && !launcher.HasExited, $"no checkpoint yet:\n{stderr}");
                Thread.Sleep(50);
            }
            using (var victim = Process.GetProcessById(pids[1])) victim.Kill();   // SIGKILL
            var killed = Stopwatch.StartNew();
            Assert.True(launcher.WaitForExit(TimeSpan.FromSeconds(60)), "the launcher did not stop");
            launcher.WaitForExit();
            output.WriteLine($"launcher stopped {killed.Elapsed.TotalSeconds:F1} s after the kill");
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(10 + 15 + 5), $"took {killed.Elapsed}");
            Assert.NotEqual(0, launcher.ExitCode);
            lock (stderr) Assert.Contains("rank 1 of 2 was killed by signal 9", stderr.ToString());
            Assert.All(pids.Values, pid => Assert.False(IsRunning(pid), $"process {pid} is still running"));
        }
        finally
        {
            if (!launcher.HasExited) launcher.Kill(entireProcessTree: true);
            foreach (var pid in pids.Values.Where(IsRunning)) Process.GetProcessById(pid).Kill();
        }

        var latest = Checkpoint.Find(run)!;
        var step = Checkpoint.ReadState(latest).Step;
        Assert.InRange(step, 10, 399);
        Assert.Equal(2, Checkpoint.ReadState(latest).WorldSize);
        using (var model = Checkpoint.LoadModel(latest)) Assert.True(model.Parameters.Count() > 0);

        var wrongSize = CliRunner.Run(["train", "--model", "mlp-seed", "--out", run, "--resume"]);
        Assert.Equal(1, wrongSize.ExitCode);
        Assert.Contains("written by 2 process(es) but this run has 1", wrongSize.Stderr);

        var resumed = CliRunner.Run(["train", "--model", "mlp-seed", "--out", run, "--resume", "--nproc", "2"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Equal(400, Checkpoint.ReadState(Checkpoint.Find(run)!).Step);
    }

    private static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
}
