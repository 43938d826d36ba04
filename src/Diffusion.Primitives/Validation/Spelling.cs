namespace Diffusion.Primitives;

/// <summary>Suggestions for a misspelt name (a config field, a setting): the known name nearest in edit distance.</summary>
public static class Spelling
{
    /// <summary>"; did you mean `channels`?" for the known name nearest in edit distance, when it is near enough to be a typo.</summary>
    public static string Suggest(string given, IEnumerable<string> known)
    {
        var best = known.Select(k => (Name: k, Distance: EditDistance(given.ToLowerInvariant(), k.ToLowerInvariant())))
            .OrderBy(k => k.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, given.Length / 3) ? $"; did you mean `{best.Name}`?" : "";
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), in O(|a|·|b|) time and O(|b|) memory.</summary>
    public static int EditDistance(string a, string b)
    {
        if (a.Length > 256 || b.Length > 256) return Math.Max(a.Length, b.Length); // a key that long is no typo
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
