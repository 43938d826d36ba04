using System.Diagnostics;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Loop;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary>
/// The run directory under contention and faults, through the built CLI as a child process: the lock, signals, the
/// pre-flight, divergence, a finished run resumed, damaged checkpoints and non-finite samples.
/// </summary>
public class RunReliabilityTests
{
    private static string[] Train(string run, int steps, int checkpointEvery = 0, params string[] more) =>
        ["train", "--model", "mlp-seed", "--data", "moons", "--steps", steps.ToString(), "--batch", "16", "--checkpoint-every", checkpointEvery.ToString(), "--log-every", "1", "--out", run, .. more];

    /// <summary>A long training run, once it has taken <paramref name="steps"/> steps (metrics.jsonl lines).</summary>
    private static CliRunner.Running StartedRun(string run, int steps = 5)
    {
        var running = CliRunner.Start(Train(run, 1_000_000));
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(MetricsLog.PathIn(run)) && File.ReadLines(MetricsLog.PathIn(run)).Count() >= steps))
        {
            if (running.Process.HasExited) throw new InvalidOperationException($"the run ended early: {running.Wait().Stderr}");
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the run took no steps in 60 s");
            Thread.Sleep(50);
        }
        return running;
    }

    private static void AssertNoTrace(CliRunner.Result result)
    {
        Assert.DoesNotContain("Unhandled exception", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [SignalsReachChildrenTheory]
    [InlineData(2, "SIGINT", 130)]
    [InlineData(15, "SIGTERM", 143)]
    [InlineData(1, "SIGHUP", 129)]
    public void A_signal_saves_a_checkpoint_and_exits_128_plus_its_number(int signal, string name, int exitCode)
    {
        var run = Support.TempDir("signal");
        using var running = StartedRun(run);
        FileSystems.Signal(running.Process, signal);
        var result = running.Wait(TimeSpan.FromMinutes(2)); // a signal the CLI ignored would otherwise hang the test
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains($"interrupted by {name} at step", result.Stderr);
        var latest = Checkpoint.Find(run)!;
        var step = Checkpoint.ReadState(latest).Step;
        Assert.True(step >= 5, $"saved at step {step}");
        Assert.Equal(Checkpoint.DirectoryName(step), Path.GetFileName(latest));
        AssertNoTrace(result);
    }

    /// <summary>
    /// The runtime runs a signal's handler on whichever thread the kernel picks; on the training thread, which is nearly
    /// always inside malloc, the handler's thread-local-storage set-up could reallocate and corrupt the heap (about one
    /// SIGTERM in 30 did, exit 134). So the training thread blocks the stop signals and some other thread takes them.
    /// </summary>
    [ProcTasksFact]
    public void The_training_thread_blocks_the_stop_signals_and_another_thread_takes_them()
    {
        const ulong stopSignals = 1UL << 0 | 1UL << 1 | 1UL << 14; // SIGHUP, SIGINT, SIGTERM: bit n − 1
        var run = Support.TempDir("signal-mask");
        using var running = StartedRun(run);
        var masks = FileSystems.BlockedSignalsByThread(running.Process);
        var training = masks[running.Process.Id]; // `dotnet diffusion.dll` trains on its initial thread, whose id is the PID
        Assert.True((training & stopSignals) == stopSignals, $"the training thread's SigBlk is {training:x}");
        Assert.Contains(masks.Values, mask => (mask & stopSignals) == 0);
        FileSystems.Signal(running.Process, 15);
        Assert.Equal(143, running.Wait(TimeSpan.FromMinutes(2)).ExitCode);
    }

    [Fact]
    public void A_second_writer_is_refused_naming_the_holder_and_the_lock_ends_with_the_run()
    {
        var run = Support.TempDir("two-writers");
        using var first = StartedRun(run);
        var second = CliRunner.Run(Train(run, 3));
        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"is in use by another training process (PID {first.Process.Id})", second.Stderr);
        AssertNoTrace(second);
        Assert.False(Checkpoint.HoldsAny(run));

        FileSystems.Signal(first.Process, 15);
        Assert.Equal(143, first.Wait().ExitCode);
        var reached = Checkpoint.ReadState(Checkpoint.Find(run)!).Step;
        var resumed = CliRunner.Run("train", "--model", "mlp-seed", "--resume", "--out", run, "--steps", (reached + 2).ToString());
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(reached + 2, Checkpoint.ReadState(Checkpoint.Find(run)!).Step);
    }

    [Fact]
    public void The_lock_of_a_killed_run_is_taken_over()
    {
        var run = Support.TempDir("stale-lock");
        int pid;
        using (var killed = StartedRun(run, steps: 2))
        {
            pid = killed.Process.Id;
            killed.Process.Kill(); // SIGKILL: no chance to release anything
            killed.Process.WaitForExit();
        }
        Assert.Equal(pid.ToString(), File.ReadAllText(Path.Combine(run, RunLock.FileName)).Trim());
        var next = CliRunner.Run(Train(run, 3));
        Assert.True(next.ExitCode == 0, next.Stderr);
        Assert.Contains($"took over the lock of '{run}' from PID {pid}", next.Stderr);
        Assert.Equal(3, Checkpoint.ReadState(Checkpoint.Find(run)!).Step);
        Assert.Equal("", File.ReadAllText(Path.Combine(run, RunLock.FileName))); // released on a clean exit
    }

    [NotRootFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_read_only_output_directory_fails_before_the_first_step()
    {
        var parent = Support.TempDir("read-only");
        File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var run = Path.Combine(parent, "run");
            var result = CliRunner.Run(Train(run, 3));
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith($"error: cannot create the run directory '{run}'", result.Stderr);
            AssertNoTrace(result);
        }
        finally
        {
            File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [TmpfsFact]
    public void A_read_only_file_system_fails_before_the_first_step()
    {
        using var mount = FileSystems.Tmpfs("1m", readOnly: true, out var root);
        var run = Path.Combine(root, "run");
        var result = CliRunner.Run(Train(run, 3));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: cannot create the run directory '{run}'", result.Stderr);
        Assert.Contains("Read-only file system", result.Stderr);
        AssertNoTrace(result);
    }

    [TmpfsFact]
    public void A_disk_without_room_for_a_checkpoint_fails_before_the_first_step()
    {
        using var mount = FileSystems.Tmpfs("256k", readOnly: false, out var root);
        var run = Path.Combine(root, "run");
        var result = CliRunner.Run(Train(run, 3));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"the run directory '{run}' has 0.", result.Stderr);
        Assert.Contains("a checkpoint of this model needs about 1.", result.Stderr); // mlp-seed: 37,762 parameters × 4 copies × 4 bytes
        Assert.False(File.Exists(MetricsLog.PathIn(run)));
        AssertNoTrace(result);
    }

    [Fact]
    public void Resuming_a_finished_run_says_so_and_changes_no_file()
    {
        var run = Support.TempDir("finished");
        Assert.Equal(0, CliRunner.Run(Train(run, 3)).ExitCode);
        static Dictionary<string, (DateTime, string)> Files(string dir) => Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(f), Convert.ToHexString(File.ReadAllBytes(f))));
        var before = Files(run);
        var result = CliRunner.Run("train", "--model", "mlp-seed", "--resume", "--out", run);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("is finished", result.Stderr);
        Assert.Contains("at step 3 of 3; nothing to do", result.Stderr);
        Assert.Equal(before, Files(run));
    }

    [Fact]
    public void A_diverging_run_stops_with_an_error_naming_the_step_and_writes_no_checkpoint()
    {
        var run = Support.TempDir("diverge-cli");
        var result = CliRunner.Run(Train(run, 50, 0, "--lr", "1e30"));
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"error: training diverged at step \d+ of 50: loss", result.Stderr);
        AssertNoTrace(result);
        Assert.False(Checkpoint.HoldsAny(run));
    }

    [Fact]
    public void Damaged_checkpoints_are_skipped_with_a_warning_or_refused_when_named()
    {
        var run = Support.TempDir("damaged-cli");
        Assert.Equal(0, CliRunner.Run(Train(run, 4, checkpointEvery: 2)).ExitCode);
        var latest = Path.Combine(run, Checkpoint.DirectoryName(4));
        var ema = Path.Combine(latest, Checkpoint.EmaWeights);
        var bytes = File.ReadAllBytes(ema);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(ema, bytes);

        var fallback = CliRunner.Run("sample", "--checkpoint", run, "--n", "4", "--steps", "5");
        Assert.True(fallback.ExitCode == 0, fallback.Stderr);
        Assert.Contains("warning: skipped the damaged checkpoint step-000004 (ema.safetensors's contents do not match its hash", fallback.Stderr);
        Assert.Contains(Checkpoint.DirectoryName(2), fallback.Stdout);

        var named = CliRunner.Run("sample", "--checkpoint", latest, "--n", "4", "--steps", "5");
        Assert.Equal(1, named.ExitCode);
        Assert.StartsWith($"error: checkpoint '{latest}' is damaged: ema.safetensors", named.Stderr);
        AssertNoTrace(named);
    }

    [Fact]
    public void Non_finite_samples_are_an_error_and_nothing_is_written()
    {
        var run = Support.TempDir("nan-samples");
        Assert.Equal(0, CliRunner.Run(Train(run, 2)).ExitCode);
        var latest = Checkpoint.Find(run)!;
        // A checkpoint of NaN weights cannot be saved any more; one from before manifests existed can still hold them.
        using (var scope = torch.NewDisposeScope())
        {
            var ema = Safetensors.Load(Path.Combine(latest, Checkpoint.EmaWeights));
            Safetensors.Save(Path.Combine(latest, Checkpoint.EmaWeights), ema.ToDictionary(kv => kv.Key, kv => torch.full_like(kv.Value, double.NaN)));
        }
        File.Delete(Path.Combine(latest, CheckpointManifest.FileName));
        var png = Path.Combine(run, "samples.png");
        var result = CliRunner.Run("sample", "--checkpoint", run, "--n", "8", "--steps", "5", "--out", png);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("NaN or infinite", result.Stderr);
        Assert.Contains("note: ", result.Stderr);
        Assert.False(File.Exists(png));
        AssertNoTrace(result);
    }
}
