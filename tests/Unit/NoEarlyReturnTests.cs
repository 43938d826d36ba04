using System.Text.RegularExpressions;
using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary>
/// A test that returns early when something is missing from the machine passes without checking anything;
/// it must be skipped with its reason instead (tests/Shared/Preconditions.cs). This scans every test source.
/// </summary>
public partial class NoEarlyReturnTests
{
    [Fact]
    public void No_test_method_returns_early_on_a_condition()
    {
        var tests = Path.Combine(RepositoryRoot(), "tests");
        var offenders = Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(d => d is "bin" or "obj"))
            .SelectMany(f => EarlyReturns(File.ReadAllLines(f)).Select(line => $"{Path.GetRelativePath(tests, f)}:{line}"))
            .ToList();
        Assert.True(offenders.Count == 0,
            "test methods that return early instead of being skipped with a reason (use a FactAttribute that sets Skip, "
            + "see tests/Shared/Preconditions.cs):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_scan_finds_a_conditional_return_in_a_fact_and_ignores_helpers()
    {
        string[] source =
        [
            "public class C",
            "{",
            "    [Fact]",
            "    public void T()",
            "    {",
            "        if (!File.Exists(\"/x\")) return; // not installed",
            "    }",
            "",
            "    private static void Helper(bool b)",
            "    {",
            "        if (b) return;",
            "    }",
            "",
            "    [Theory, InlineData(1)]",
            "    public void U(int n)",
            "    {",
            "        if (n > 0)",
            "            return;",
            "    }",
            "}",
        ];
        Assert.Equal([6, 18], EarlyReturns(source));
    }

    /// <summary>1-based lines, inside a [Fact]/[Theory]-like method, of an <c>if (…)</c> whose body is a bare <c>return;</c>.</summary>
    internal static IEnumerable<int> EarlyReturns(string[] lines)
    {
        var memberIndent = -1;
        var pendingTest = false;
        var inTest = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var text = line.TrimStart();
            if (text.Length == 0 || text.StartsWith("//") || text[0] is '{' or '}') continue;
            var indent = line.Length - text.Length;
            if (text.StartsWith('['))
            {
                if (memberIndent < 0 || indent <= memberIndent) { memberIndent = indent; inTest = false; }
                if (indent == memberIndent && TestAttribute().IsMatch(text)) pendingTest = true;
                continue;
            }
            if (indent <= memberIndent)
            {
                // A member declaration: it is a test if a test attribute came just before it.
                memberIndent = indent;
                inTest = pendingTest;
                pendingTest = false;
                continue;
            }
            if (!inTest) continue;
            if (ConditionalReturn().IsMatch(text)) yield return i + 1;
            else if (ConditionOnly().IsMatch(text) && i + 1 < lines.Length && lines[i + 1].Trim() == "return;") yield return i + 2;
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffusion.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Diffusion.sln above {AppContext.BaseDirectory}: run the tests from the repository's build output");
    }

    [GeneratedRegex(@"^\[\s*(\w+\s*,\s*)*\w*(Fact|Theory|Property)\w*\b")]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"^if\s*\(.*\)\s*\{?\s*return\s*;\s*\}?\s*(//.*)?$")]
    private static partial Regex ConditionalReturn();

    [GeneratedRegex(@"^if\s*\(.*\)\s*(//.*)?$")]
    private static partial Regex ConditionOnly();
}
