using Diffusion.Training.Checkpoints;

namespace Diffusion.Cli.Commands;

/// <summary>The --checkpoint argument of the commands that read one (a run directory or one step directory), and the run directory of those that write one.</summary>
internal static class CheckpointArgument
{
    /// <summary>The checkpoint to read (see <see cref="Checkpoint.Find"/>): damaged ones skipped and unverified ones noted on standard error.</summary>
    public static string Find(string path) =>
        Checkpoint.Find(path, Warn) ?? throw new DirectoryNotFoundException($"no checkpoint in '{path}'");

    /// <summary>The pre-flight of a run directory a command writes (created, writable) and its lock, held until disposed; a lock of a dead run is noted.</summary>
    public static RunLock OpenRunDirectory(string runDir)
    {
        var runLock = RunDirectory.Open(runDir);
        if (runLock.TookOverFrom is { } pid)
            Warn($"note: took over the lock of '{runDir}' from PID {pid}, which ended without releasing it");
        return runLock;
    }

    /// <summary>A warning or note line on standard error (standard output carries only results).</summary>
    public static void Warn(string line) => Console.Error.WriteLine(line);
}
