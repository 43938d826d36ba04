namespace Diffusion.Torch.Serialization;

/// <summary>Walks a finished object tree (iteratively: a hostile pickle may nest deeper than the call stack allows).</summary>
internal static class PickleTree
{
    /// <summary>
    /// Globals and storages only exist to be called or wrapped; one left in the tree (a pickled class object, a bare
    /// storage) is not data, and is refused rather than handed out half-made.
    /// </summary>
    public static void RefuseLeftovers(CheckpointValue root, string source, string record)
    {
        foreach (var (path, value) in Walk(root))
        {
            if (value is PickleGlobal g)
                throw new TorchCheckpointFormatException(source, record, null, Name(path), $"{g.FullName} is left in the tree uncalled; only tensors and plain data may be values");
            if (value is CheckpointStorage s)
                throw new TorchCheckpointFormatException(source, record, null, Name(path), $"a bare {s.Describe()} is not supported; save tensors, not storages");
        }
    }

    private static string Name(TreePath path) => path.IsRoot ? "<root>" : path.ToString();

    /// <summary>
    /// Every value reachable from <paramref name="root"/> once, with its key path. Paths are built only when read
    /// (<see cref="TreePath.ToString"/>): building each one eagerly costs quadratic time on a deeply nested pickle.
    /// </summary>
    public static IEnumerable<(TreePath Path, CheckpointValue Value)> Walk(CheckpointValue root)
    {
        var seen = new HashSet<CheckpointValue>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(TreePath, CheckpointValue)>();
        pending.Push((TreePath.Root, root));
        while (pending.Count > 0)
        {
            var (path, value) = pending.Pop();
            if (!seen.Add(value)) continue;
            yield return (path, value);
            IEnumerable<(TreePath, CheckpointValue)> children = value switch
            {
                CheckpointDict d => d.Select(p => (path.Child(CheckpointDict.KeyText(p.Key)), p.Value))
                    .Concat(d.Attributes is { } a ? [(path.Child("__dict__"), (CheckpointValue)a)] : []),
                CheckpointList l => l.Select((v, i) => (path.Child(i.ToString()), v)),
                CheckpointTuple t => t.Select((v, i) => (path.Child(i.ToString()), v)),
                _ => [],
            };
            foreach (var child in children.Reverse()) pending.Push(child);
        }
    }
}

/// <summary>A dotted key path as a chain of parents; the root's text is empty.</summary>
internal sealed class TreePath
{
    public static readonly TreePath Root = new(null, "");

    private readonly TreePath? parent;
    private readonly string key;

    private TreePath(TreePath? parent, string key)
    {
        this.parent = parent;
        this.key = key;
    }

    public bool IsRoot => parent is null;

    public TreePath Child(string name) => new(this, name);

    public override string ToString()
    {
        var keys = new List<string>();
        for (var p = this; p.parent is not null; p = p.parent) keys.Add(p.key);
        keys.Reverse();
        return string.Join(".", keys);
    }
}
