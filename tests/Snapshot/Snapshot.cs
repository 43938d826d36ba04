using System.Runtime.CompilerServices;
using System.Text;

namespace Diffusion.Snapshot.Tests;

/// <summary>
/// Approved-text snapshots in Verify's conventions: <c>{Class}.{Method}[_{Params}].verified.txt</c> beside the
/// test source; a mismatch writes <c>*.received.txt</c> (ignored by git) and fails with a line diff.
/// Set DIFFUSION_ACCEPT_SNAPSHOTS=1 to accept received text as the new verified text; CI never accepts.
/// </summary>
public static class Snapshot
{
    public const string AcceptVariable = "DIFFUSION_ACCEPT_SNAPSHOTS";

    /// <summary>Compares with the snapshot named after the calling test's file (class) and method.</summary>
    public static void Match(string actual, string? parameters = null, [CallerFilePath] string sourceFile = "", [CallerMemberName] string method = "")
    {
        var name = Path.GetFileNameWithoutExtension(sourceFile) + "." + method + (parameters is null ? "" : "_" + parameters);
        MatchFile(actual, Path.Combine(Path.GetDirectoryName(sourceFile)!, name + ".verified.txt"));
    }

    /// <summary>Compares with an explicit verified file; the received file sits beside it.</summary>
    public static void MatchFile(string actual, string verifiedPath, bool? accept = null)
    {
        var text = Normalize(actual);
        var receivedPath = verifiedPath[..^".verified.txt".Length] + ".received.txt";
        var expected = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (expected == text)
        {
            File.Delete(receivedPath);
            return;
        }
        if (accept ?? Accepting)
        {
            File.WriteAllText(verifiedPath, text, Utf8);
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, text, Utf8);
        throw new SnapshotMismatchException(expected is null
            ? $"No verified snapshot {Path.GetFileName(verifiedPath)}; wrote {Path.GetFileName(receivedPath)}. Review it, then rename it or set {AcceptVariable}=1."
            : $"Snapshot {Path.GetFileName(verifiedPath)} differs (received text in {Path.GetFileName(receivedPath)}):\n{Diff(expected, text)}");
    }

    private static bool Accepting =>
        Environment.GetEnvironmentVariable(AcceptVariable) == "1" && Environment.GetEnvironmentVariable("CI") is null or "" or "false";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>LF line endings and exactly one trailing newline, so snapshots compare equal across machines.</summary>
    private static string Normalize(string s) => s.Replace("\r\n", "\n").TrimEnd('\n') + "\n";

    /// <summary>The differing lines with a little context, '-' for verified and '+' for received.</summary>
    internal static string Diff(string expected, string actual, int context = 2, int maxLines = 40)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var first = 0;
        while (first < a.Length && first < b.Length && a[first] == b[first]) first++;
        int endA = a.Length - 1, endB = b.Length - 1;
        while (endA >= first && endB >= first && a[endA] == b[endB]) { endA--; endB--; }
        var sb = new StringBuilder();
        sb.AppendLine($"@@ line {first + 1} @@");
        for (var i = Math.Max(0, first - context); i < first; i++) sb.AppendLine("  " + a[i]);
        foreach (var line in a[first..(endA + 1)].Take(maxLines)) sb.AppendLine("- " + line);
        foreach (var line in b[first..(endB + 1)].Take(maxLines)) sb.AppendLine("+ " + line);
        for (var i = endA + 1; i < Math.Min(a.Length, endA + 1 + context); i++) sb.AppendLine("  " + a[i]);
        return sb.ToString();
    }
}

public sealed class SnapshotMismatchException(string message) : Exception(message);
