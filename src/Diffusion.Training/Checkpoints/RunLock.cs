using System.Text;

namespace Diffusion.Training.Checkpoints;

/// <summary>
/// The lock a writer of a run directory holds for its whole life: an OS record lock (<see cref="FileStream.Lock"/>,
/// fcntl on Linux) on <c>RUN/.lock</c>, which holds the writer's PID so a second writer is refused with a message
/// naming it. The kernel drops the lock when its process dies, however it dies, so a lock file left by a dead process
/// is simply taken over (<see cref="TookOverFrom"/> names it). The file is never deleted — deleting it would let two
/// writers lock two different files of the same name — only emptied on release.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = ".lock";
    private readonly FileStream stream;

    private RunLock(FileStream stream, int? tookOverFrom)
    {
        this.stream = stream;
        TookOverFrom = tookOverFrom;
    }

    /// <summary>The PID the lock file named when it was taken: a writer that died without releasing it (null if none).</summary>
    public int? TookOverFrom { get; }

    /// <summary>Locks <paramref name="runDir"/> (creating it) or throws <see cref="RunLockedException"/> naming the holder.</summary>
    public static RunLock Acquire(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (OperatingSystem.IsMacOS()) return AcquireByShareMode(runDir, path);
        // FileShare.ReadWrite: the lock is the record lock below; a refused writer must still be able to read the PID.
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            try
            {
                stream.Lock(0, 1);
            }
            catch (IOException)
            {
                var holder = ReadPid(stream);
                throw new RunLockedException(runDir, holder);
            }
            return Claim(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>macOS has no FileStream.Lock: there .NET's flock of FileShare.None is the lock, and a refused writer cannot read the PID.</summary>
    private static RunLock AcquireByShareMode(string runDir, string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new RunLockedException(runDir, null);
        }
        try
        {
            return Claim(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Writes this process's PID into the locked file; a PID found there was left by a writer that died holding it.</summary>
    private static RunLock Claim(FileStream stream)
    {
        var previous = ReadPid(stream);
        stream.SetLength(0);
        stream.Write(Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
        stream.Flush(flushToDisk: true);
        return new RunLock(stream, previous is { } pid && pid != Environment.ProcessId ? pid : null);
    }

    private static int? ReadPid(FileStream stream)
    {
        stream.Position = 0;
        var buffer = new byte[32];
        var n = stream.Read(buffer);
        return int.TryParse(Encoding.ASCII.GetString(buffer, 0, n).Trim(), out var pid) ? pid : null;
    }

    public void Dispose()
    {
        stream.SetLength(0);
        stream.Flush();
        if (!OperatingSystem.IsMacOS()) stream.Unlock(0, 1);
        stream.Dispose();
    }
}

/// <summary>Another process holds the run directory's <see cref="RunLock"/>.</summary>
public sealed class RunLockedException(string runDir, int? holder) : IOException(
    $"'{runDir}' is in use by another training process{(holder is { } pid ? $" (PID {pid})" : "")}; " +
    "wait for it to finish or stop it, or choose another --out")
{
    public int? Holder { get; } = holder;
}
