namespace Diffusion.Torch.Serialization;

/// <summary>
/// Reads the checkpoints <c>torch.save</c> writes (PyTorch ≥ 1.6: a zip archive of data.pkl and raw storages)
/// without Python. The pickle is read by a restricted unpickler that allows what a tensor dictionary needs —
/// dicts, OrderedDicts, lists, tuples, None, bools, ints, floats, strings and tensors — and refuses every other
/// global (naming it and its byte offset) without resolving it. The whole pickle and every storage a tensor
/// uses are validated before any tensor is created; a malformed file throws
/// <see cref="TorchCheckpointFormatException"/>.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>
    /// The tensor dictionary (name → tensor, in the checkpoint's order) at <paramref name="key"/>: a key of the
    /// top-level dict (<c>ema</c>), or a dotted path into nested dicts (<c>state.ema</c>; a key that itself holds
    /// dots is matched whole first). Without a key, the top level itself, which must then hold tensors. Every
    /// value of the selected dict must be a tensor: anything else (an int <c>step</c>, a nested dict) is an error
    /// naming the entry — read such values with <see cref="Read"/>. Tensors are contiguous CPU copies owned by
    /// the caller (or by the current <see cref="DisposeScope"/>), as <see cref="Safetensors.Load"/> returns them;
    /// tensors that shared a storage in PyTorch come back as separate copies.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, string? key = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var archive = TorchCheckpointArchive.Open(path);
        var root = ReadTree(archive);
        var (dict, at) = Select(root, key, archive);
        var views = new List<(string, CheckpointTensor)>(dict.Count);
        foreach (var (k, v) in dict)
        {
            var entry = Join(at, CheckpointDict.KeyText(k));
            if (k is not CheckpointString name)
                throw Fail(archive, entry, $"the key is {k.Describe()}; tensor names must be strings");
            if (v is not CheckpointTensor t)
                throw Fail(archive, entry, $"the value is {v.Describe()}, not a tensor; Load returns tensor dictionaries only " +
                                           $"(select one with a key path{Candidates(root)}, or read other values with TorchCheckpoint.Read)");
            views.Add((name.Value, t));
        }
        return new TorchCheckpointTensors(archive).Materialize(views);
    }

    /// <summary>
    /// The checkpoint's whole object tree — dicts, lists, tuples, scalars, strings and tensor descriptions (dtype,
    /// shape, stride, storage) — without reading any tensor data: for values like <c>step</c> or <c>args</c>, or
    /// to see what a file holds. The tree is validated exactly as <see cref="Load"/> validates it.
    /// </summary>
    public static CheckpointValue Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var archive = TorchCheckpointArchive.Open(path);
        return ReadTree(archive);
    }

    private static CheckpointValue ReadTree(TorchCheckpointArchive archive)
    {
        var pickle = archive.ReadAll(archive.PickleRecord);
        return RestrictedUnpickler.Load(pickle, archive.Source, archive.PickleRecord, (key, dtype, numel) =>
        {
            var record = archive.StorageRecord(key);
            if (archive.Length(record) is not { } length)
                return $"the persistent id names storage '{key}', but the archive lacks its record {record}";
            var bytes = (decimal)numel * dtype.ElementSize();
            return length >= bytes ? null
                : $"storage record {record} holds {length} bytes, but the persistent id gives it {numel} {dtype.Name()} elements ({bytes} bytes)";
        });
    }

    /// <summary>The dict at the key path, and the path itself for messages.</summary>
    private static (CheckpointDict Dict, string Path) Select(CheckpointValue root, string? key, TorchCheckpointArchive archive)
    {
        if (string.IsNullOrEmpty(key))
        {
            if (root is not CheckpointDict top)
                throw Fail(archive, null, $"the top level is {root.Describe()}, not a dict of tensors");
            if (top.Count > 0 && !top.Any(p => p.Value is CheckpointTensor))
                throw Fail(archive, null, $"the top level holds no tensors; pass a key: {Listing(top)}{Candidates(root)}");
            return (top, "");
        }
        var node = root;
        var path = "";
        var rest = key;
        while (rest.Length > 0)
        {
            if (node is not CheckpointDict dict)
                throw Fail(archive, path.Length == 0 ? null : path, $"key path '{key}': this is {node.Describe()}, not a dict");
            // The longest dotted prefix of the rest that is a key: state-dict names contain dots themselves.
            var taken = rest;
            while (!dict.TryGetValue(taken, out _))
            {
                var dot = taken.LastIndexOf('.');
                if (dot < 0)
                    throw Fail(archive, path.Length == 0 ? null : path,
                        $"key path '{key}': '{rest.Split('.')[0]}' is not a key here; the keys are {Listing(dict)}{Candidates(root)}");
                taken = taken[..dot];
            }
            dict.TryGetValue(taken, out node);
            path = Join(path, taken);
            rest = rest.Length == taken.Length ? "" : rest[(taken.Length + 1)..];
        }
        return node is CheckpointDict selected ? (selected, path)
            : throw Fail(archive, path, $"key path '{key}' selects {node.Describe()}, not a dict of tensors");
    }

    private static string Listing(CheckpointDict dict)
    {
        const int Shown = 20;
        var keys = dict.Take(Shown).Select(p => $"{CheckpointDict.KeyText(p.Key)} ({p.Value.Describe()})");
        return string.Join(", ", keys) + (dict.Count > Shown ? $", … ({dict.Count} keys)" : "");
    }

    /// <summary>The key paths of the tensor dictionaries in the file, to suggest one.</summary>
    private static string Candidates(CheckpointValue root)
    {
        var found = PickleTree.Walk(root)
            .Where(e => e.Value is CheckpointDict { Count: > 0 } d && d.All(p => p.Value is CheckpointTensor && p.Key is CheckpointString))
            .Select(e => $"'{e.Path}' ({((CheckpointDict)e.Value).Count} tensors)")
            .Take(10).ToList();
        return found.Count == 0 ? "" : $"; tensor dictionaries in this file: {string.Join(", ", found)}";
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static TorchCheckpointFormatException Fail(TorchCheckpointArchive archive, string? entry, string rule) =>
        new(archive.Source, null, null, entry, rule);
}
