using Xunit;

namespace Diffusion.Snapshot.Tests;

/// <summary>The snapshot helper itself: matching, received files on mismatch, diffs, normalisation.</summary>
public sealed class SnapshotHelperTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("snapshot-tests").FullName;
    private string Verified => Path.Combine(dir, "Case.Test.verified.txt");
    private string Received => Path.Combine(dir, "Case.Test.received.txt");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Matching_text_passes_and_removes_a_stale_received_file()
    {
        File.WriteAllText(Verified, "a\nb\n");
        File.WriteAllText(Received, "old");
        Snapshot.MatchFile("a\nb", Verified);
        Assert.False(File.Exists(Received));
    }

    [Fact]
    public void Line_endings_do_not_matter()
    {
        File.WriteAllText(Verified, "a\r\nb\r\n");
        Snapshot.MatchFile("a\nb\n", Verified);
    }

    [Fact]
    public void Mismatch_writes_received_and_fails_with_a_diff()
    {
        File.WriteAllText(Verified, "header\nparams 10\nfooter\n");
        var e = Assert.Throws<SnapshotMismatchException>(() => Snapshot.MatchFile("header\nparams 12\nfooter", Verified, accept: false));
        Assert.Contains("- params 10", e.Message);
        Assert.Contains("+ params 12", e.Message);
        Assert.Equal("header\nparams 12\nfooter\n", File.ReadAllText(Received));
        Assert.Equal("header\nparams 10\nfooter\n", File.ReadAllText(Verified));
    }

    [Fact]
    public void Missing_verified_file_fails_and_writes_received()
    {
        var e = Assert.Throws<SnapshotMismatchException>(() => Snapshot.MatchFile("new", Verified, accept: false));
        Assert.Contains("No verified snapshot", e.Message);
        Assert.True(File.Exists(Received));
        Assert.False(File.Exists(Verified));
    }

    [Fact]
    public void Accepting_replaces_the_verified_text()
    {
        File.WriteAllText(Verified, "old\n");
        Snapshot.MatchFile("new", Verified, accept: true);
        Assert.Equal("new\n", File.ReadAllText(Verified));
        Assert.False(File.Exists(Received));
    }

    [Fact]
    public void Diff_reports_the_first_differing_line_number()
    {
        var diff = Snapshot.Diff("1\n2\n3\n4\n", "1\n2\nX\n4\n");
        Assert.StartsWith("@@ line 3 @@", diff);
        Assert.Contains("- 3", diff);
        Assert.Contains("+ X", diff);
        Assert.Contains("  2", diff);
    }
}
