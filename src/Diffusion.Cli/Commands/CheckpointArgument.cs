using Diffusion.Training.Checkpoints;

namespace Diffusion.Cli.Commands;

/// <summary>The --checkpoint argument of the commands that read one: a run directory or one step directory.</summary>
internal static class CheckpointArgument
{
    /// <summary>The checkpoint to read (see <see cref="Checkpoint.Find"/>): damaged ones skipped and unverified ones noted on standard error.</summary>
    public static string Find(string path) =>
        Checkpoint.Find(path, Warn) ?? throw new DirectoryNotFoundException($"no checkpoint in '{path}'");

    /// <summary>A warning or note line on standard error (standard output carries only results).</summary>
    public static void Warn(string line) => Console.Error.WriteLine(line);
}
