using System.Collections;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// A Python dict or <c>collections.OrderedDict</c> of a checkpoint, in insertion order (as Python keeps it).
/// Keys are strings in a state dictionary; ints, floats, bools, None and tuples of them are kept as well
/// (an optimizer's <c>state</c> is keyed by int). Setting a key again replaces its value, as in Python.
/// </summary>
public sealed class CheckpointDict : CheckpointValue, IReadOnlyList<KeyValuePair<CheckpointValue, CheckpointValue>>
{
    private readonly List<KeyValuePair<CheckpointValue, CheckpointValue>> items = [];
    private readonly Dictionary<string, int> index = new(StringComparer.Ordinal);

    internal CheckpointDict(bool ordered) => IsOrderedDict = ordered;

    /// <summary>Made by <c>collections.OrderedDict</c> (what <c>nn.Module.state_dict()</c> returns) rather than <c>{}</c>.</summary>
    public bool IsOrderedDict { get; }

    /// <summary>
    /// The instance attributes pickled with an OrderedDict (BUILD), e.g. the <c>_metadata</c> that
    /// <c>state_dict()</c> attaches (module versions); null when there were none.
    /// </summary>
    public CheckpointDict? Attributes { get; internal set; }

    public int Count => items.Count;

    public KeyValuePair<CheckpointValue, CheckpointValue> this[int position] => items[position];

    /// <summary>The value of a string key, or of an int key written in decimal.</summary>
    public CheckpointValue? this[string key] => TryGetValue(key, out var v) ? v : null;

    /// <summary>Keys as text: strings as they are, other keys as Python would print them.</summary>
    public IEnumerable<string> Keys => items.Select(p => KeyText(p.Key));

    public bool TryGetValue(string key, out CheckpointValue value)
    {
        if (index.TryGetValue("s:" + key, out var i) || index.TryGetValue("i:" + key, out i))
        {
            value = items[i].Value;
            return true;
        }
        value = null!;
        return false;
    }

    public IEnumerator<KeyValuePair<CheckpointValue, CheckpointValue>> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string Describe()
    {
        var tensors = items.Count(p => p.Value is CheckpointTensor);
        return tensors == Count && Count > 0 ? $"dict of {Count} tensors" : $"dict of {Count}";
    }

    /// <summary>Python's <c>d[key] = value</c>; null when the key cannot be a dict key (unhashable).</summary>
    internal string? Set(CheckpointValue key, CheckpointValue value)
    {
        var identity = Identity(key, 0);
        if (identity is null) return $"{key.Describe()} cannot be a dict key (unhashable)";
        if (index.TryGetValue(identity, out var i))
            items[i] = new(items[i].Key, value);
        else
        {
            index.Add(identity, items.Count);
            items.Add(new(key, value));
        }
        return null;
    }

    public static string KeyText(CheckpointValue key) => key switch
    {
        CheckpointString s => s.Value,
        CheckpointInt n => n.Value.ToString(),
        _ => key.Describe(),
    };

    // Python compares keys by value; these are the hashable kinds a checkpoint holds. (Python also treats
    // True == 1 and 1.0 == 1; checkpoints do not mix them, so they stay distinct here.)
    // Nested tuples as keys are bounded, so a hostile pickle cannot recurse this off the stack.
    private static string? Identity(CheckpointValue key, int depth) => depth > 32 ? null : key switch
    {
        CheckpointString s => "s:" + s.Value,
        CheckpointInt n => "i:" + n.Value,
        CheckpointBool b => b.Value ? "b:1" : "b:0",
        CheckpointFloat f => "f:" + BitConverter.DoubleToInt64Bits(f.Value),
        CheckpointNone => "n:",
        CheckpointBytes b => "y:" + Convert.ToHexString(b.Value),
        CheckpointTuple t => Join(t.Select(v => Identity(v, depth + 1)).ToList()),
        _ => null,
    };

    private static string? Join(List<string?> parts) =>
        parts.Any(p => p is null) ? null : "t:(" + string.Join(",", parts.Select(p => $"{p!.Length}:{p}")) + ")";
}
