using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;

namespace Diffusion.Training.Tests.Cli;

/// <summary>Small file systems for the pre-flight tests: a tmpfs of a given size, mounted read-only or not (needs root and mount).</summary>
public static class FileSystems
{
    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>Which of SIGHUP (1) and SIGINT (2) this process ignores: the SigIgn mask of /proc/self/status (bit n − 1 for signal n).</summary>
    public static string[] IgnoredSignals()
    {
        if (!File.Exists("/proc/self/status")) return [];
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:"));
        if (line is null) return [];
        var mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return new[] { (1, "SIGHUP"), (2, "SIGINT") }.Where(s => (mask & (1UL << (s.Item1 - 1))) != 0).Select(s => s.Item2).ToArray();
    }

    /// <summary>Sends a POSIX signal (1 SIGHUP, 2 SIGINT, 15 SIGTERM) to a process.</summary>
    public static void Signal(Process process, int signal)
    {
        if (kill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The signals each thread of a process blocks: thread id → the SigBlk mask of /proc/PID/task/TID/status (bit n − 1 for signal n).</summary>
    public static IReadOnlyDictionary<int, ulong> BlockedSignalsByThread(Process process) =>
        Directory.GetDirectories($"/proc/{process.Id}/task").ToDictionary(
            task => int.Parse(Path.GetFileName(task)),
            task => Convert.ToUInt64(File.ReadLines(Path.Combine(task, "status")).First(l => l.StartsWith("SigBlk:"))["SigBlk:".Length..].Trim(), 16));

    private static int Command(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>Why a tmpfs cannot be mounted here (null when it can): tried once, at discovery.</summary>
    public static readonly Lazy<string?> TmpfsMissing = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs mounts need Linux";
        if (!IsRoot) return "mounting a tmpfs needs root (CI runs as root)";
        var dir = Support.TempDir("tmpfs-probe");
        try
        {
            return Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir) == 0 && Command("umount", dir) == 0
                ? null : "mount -t tmpfs is not permitted in this container";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "no mount command";
        }
    });

    /// <summary>A tmpfs of <paramref name="size"/> (mount's syntax: 256k) at a fresh folder; disposing unmounts it.</summary>
    public static IDisposable Tmpfs(string size, bool readOnly, out string mountPoint)
    {
        var dir = Support.TempDir("tmpfs");
        if (Command("mount", "-t", "tmpfs", "-o", $"size={size}{(readOnly ? ",ro" : "")}", "tmpfs", dir) != 0)
            throw new InvalidOperationException($"mount tmpfs at {dir} failed");
        mountPoint = dir;
        return new Unmount(dir);
    }

    private sealed class Unmount(string dir) : IDisposable
    {
        public void Dispose() => Command("umount", dir);
    }
}

/// <summary>A fact that reads other processes' threads from /proc (Linux).</summary>
public sealed class ProcTasksFactAttribute : FactAttribute
{
    public ProcTasksFactAttribute() => Skip = Directory.Exists("/proc/self/task") ? null : "needs /proc/PID/task (Linux)";
}

/// <summary>A fact that mounts a tmpfs (root and mount permitted).</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute() => Skip = FileSystems.TmpfsMissing.Value;
}

/// <summary>A fact whose chmod must deny writing: not as root, whom permissions do not stop.</summary>
public sealed class NotRootFactAttribute : FactAttribute
{
    public NotRootFactAttribute() => Skip = !OperatingSystem.IsLinux() ? "needs Linux permissions"
        : FileSystems.IsRoot ? "running as root, whom chmod does not deny (the read-only tmpfs test covers this as root)" : null;
}

/// <summary>
/// A theory that signals a child CLI: not when this test process ignores SIGINT or SIGHUP, as a process started in the
/// background by a non-interactive shell (SIGINT) or under nohup (SIGHUP) does — its children inherit the ignored
/// disposition, so the signal would never reach the CLI's handler.
/// </summary>
public sealed class SignalsReachChildrenTheoryAttribute : TheoryAttribute
{
    public SignalsReachChildrenTheoryAttribute() => Skip = FileSystems.IgnoredSignals() is { Length: > 0 } ignored
        ? $"this test process ignores {string.Join(" and ", ignored)} (started in the background or under nohup), and its children inherit that"
        : null;
}
