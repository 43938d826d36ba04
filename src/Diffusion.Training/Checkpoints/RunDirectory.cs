namespace Diffusion.Training.Checkpoints;

/// <summary>
/// The pre-flight of a training run's output directory, done before any step so that a directory the run cannot
/// write fails at once rather than at the first checkpoint, with every step before it lost.
/// </summary>
public static class RunDirectory
{
    /// <summary>
    /// Creates <paramref name="runDir"/>, takes its <see cref="RunLock"/> and checks a file can be created in it; an
    /// <see cref="IOException"/> naming the directory when it cannot be created or written.
    /// </summary>
    public static RunLock Open(string runDir)
    {
        try
        {
            Directory.CreateDirectory(runDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create the run directory '{runDir}': {e.Message}", e);
        }
        RunLock? held = null;
        try
        {
            held = RunLock.Acquire(runDir);
            // The lock file may exist already; a checkpoint needs new files.
            var probe = Path.Combine(runDir, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return held;
        }
        catch (Exception e) when (e is UnauthorizedAccessException || e is IOException and not RunLockedException)
        {
            held?.Dispose();
            throw new IOException($"cannot write to the run directory '{runDir}': {e.Message}", e);
        }
    }

    /// <summary>Throws an <see cref="IOException"/> naming the directory when its file system has less than <paramref name="bytes"/> free.</summary>
    public static void RequireSpace(string runDir, long bytes)
    {
        var free = new DriveInfo(Path.GetFullPath(runDir)).AvailableFreeSpace;
        if (free < bytes)
            throw new IOException($"the run directory '{runDir}' has {Mebibytes(free)} free, but a checkpoint of this model needs about {Mebibytes(bytes)} (weights, EMA and optimizer state): free space or choose another --out");
    }

    private static string Mebibytes(long bytes) => $"{bytes / 1048576.0:F1} MiB";
}
