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
                throw new TorchCheckpointFormatException(source, record, null, path, $"{g.FullName} is left in the tree uncalled; only tensors and plain data may be values");
            if (value is CheckpointStorage s)
                throw new TorchCheckpointFormatException(source, record, null, path, $"a bare {s.Describe()} is not supported; save tensors, not storages");
        }
    }

    /// <summary>Every value reachable from <paramref name="root"/> once, with a dotted key path to it.</summary>
    public static IEnumerable<(string Path, CheckpointValue Value)> Walk(CheckpointValue root)
    {
        var seen = new HashSet<CheckpointValue>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(string, CheckpointValue)>();
        pending.Push(("", root));
        while (pending.Count > 0)
        {
            var (path, value) = pending.Pop();
            if (!seen.Add(value)) continue;
            yield return (path.Length == 0 ? "<root>" : path, value);
            IEnumerable<(string, CheckpointValue)> children = value switch
            {
                CheckpointDict d => d.Select(p => (Join(path, CheckpointDict.KeyText(p.Key)), p.Value))
                    .Concat(d.Attributes is { } a ? [(Join(path, "__dict__"), (CheckpointValue)a)] : []),
                CheckpointList l => l.Select((v, i) => (Join(path, i.ToString()), v)),
                CheckpointTuple t => t.Select((v, i) => (Join(path, i.ToString()), v)),
                _ => [],
            };
            foreach (var child in children.Reverse()) pending.Push(child);
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
