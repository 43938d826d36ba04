using System.Collections;
using System.Globalization;
using System.Numerics;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// A value of a PyTorch checkpoint's pickled object tree as <see cref="TorchCheckpoint.Read"/> returns it: the
/// data types a state dictionary is made of (dicts, lists, tuples, None, bools, ints, floats, strings, bytes) and
/// tensors, described but not loaded. Nothing else can appear: the unpickler refuses every other global.
/// </summary>
public abstract class CheckpointValue
{
    private protected CheckpointValue() { }

    /// <summary>A short description for messages: <c>int 7</c>, <c>dict of 3 tensors</c>, <c>float32 tensor [4, 2]</c>.</summary>
    public abstract string Describe();

    public override string ToString() => Describe();
}

/// <summary>Python's None.</summary>
public sealed class CheckpointNone : CheckpointValue
{
    public static readonly CheckpointNone Instance = new();

    private CheckpointNone() { }

    public override string Describe() => "None";
}

public sealed class CheckpointBool(bool value) : CheckpointValue
{
    public bool Value { get; } = value;

    public override string Describe() => Value ? "bool True" : "bool False";
}

/// <summary>A Python int (arbitrary precision, as pickle's LONG1 allows).</summary>
public sealed class CheckpointInt(BigInteger value) : CheckpointValue
{
    public BigInteger Value { get; } = value;

    public override string Describe() => $"int {Value}";
}

public sealed class CheckpointFloat(double value) : CheckpointValue
{
    public double Value { get; } = value;

    public override string Describe() => $"float {Value.ToString("R", CultureInfo.InvariantCulture)}";
}

public sealed class CheckpointString(string value) : CheckpointValue
{
    public string Value { get; } = value;

    public override string Describe() => $"str '{Value}'";
}

/// <summary>Python bytes (protocol 3+) or a Python 2 str, as raw bytes.</summary>
public sealed class CheckpointBytes(byte[] value) : CheckpointValue
{
    public byte[] Value { get; } = value;

    public override string Describe() => $"bytes of length {Value.Length}";
}

/// <summary>A Python list; filled while unpickling (APPEND), read-only afterwards.</summary>
public sealed class CheckpointList : CheckpointValue, IReadOnlyList<CheckpointValue>
{
    internal List<CheckpointValue> Items { get; } = [];

    public CheckpointValue this[int index] => Items[index];

    public int Count => Items.Count;

    public IEnumerator<CheckpointValue> GetEnumerator() => Items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string Describe() => $"list of {Count}";
}

/// <summary>A Python tuple.</summary>
public sealed class CheckpointTuple(IReadOnlyList<CheckpointValue> items) : CheckpointValue, IReadOnlyList<CheckpointValue>
{
    public CheckpointValue this[int index] => items[index];

    public int Count => items.Count;

    public IEnumerator<CheckpointValue> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string Describe() => $"tuple of {Count}";
}

/// <summary>
/// A tensor as the pickle describes it: element type, shape, strides and offset into a storage record of the
/// archive. Its data is read only by <see cref="TorchCheckpoint.Load(string, string?)"/>; the description has
/// already been checked against the storage (record present, large enough, the view's extent inside it).
/// </summary>
public sealed class CheckpointTensor : CheckpointValue
{
    internal CheckpointTensor(CheckpointStorage storage, long storageOffset, long[] shape, long[] stride, bool requiresGrad, long pickleOffset)
    {
        Storage = storage;
        StorageOffset = storageOffset;
        Shape = shape;
        Stride = stride;
        RequiresGrad = requiresGrad;
        PickleOffset = pickleOffset;
    }

    public ScalarType DType => Storage.DType;

    public long[] Shape { get; }

    /// <summary>Strides in elements, as PyTorch's <c>Tensor.stride()</c>.</summary>
    public long[] Stride { get; }

    /// <summary>Offset in elements into the storage, as PyTorch's <c>Tensor.storage_offset()</c>.</summary>
    public long StorageOffset { get; }

    /// <summary>The name of the storage record under the archive's <c>data/</c> folder; tensors may share one.</summary>
    public string StorageKey => Storage.Key;

    /// <summary>The device the tensor was saved from (<c>cpu</c>, <c>cuda:0</c> …); loading always makes CPU tensors.</summary>
    public string Location => Storage.Location;

    public bool RequiresGrad { get; }

    /// <summary>Saved as a <c>torch.nn.Parameter</c> (<c>_rebuild_parameter</c>) rather than a plain tensor.</summary>
    public bool IsParameter { get; internal init; }

    internal CheckpointStorage Storage { get; }

    /// <summary>Where in data.pkl the tensor was rebuilt, for messages.</summary>
    internal long PickleOffset { get; }

    public long Numel() => Shape.Aggregate(1L, (a, d) => a * d);

    public override string Describe() => $"{DType.Name()} tensor [{string.Join(", ", Shape)}]";
}

/// <summary>
/// A storage named by a persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c>; it lives on the
/// unpickler's stack until a rebuild function wraps it in a tensor. One left bare in the tree is refused.
/// </summary>
internal sealed class CheckpointStorage(ScalarType dtype, string storageClass, string key, string location, long numel) : CheckpointValue
{
    public ScalarType DType { get; } = dtype;

    public string StorageClass { get; } = storageClass;

    public string Key { get; } = key;

    public string Location { get; } = location;

    /// <summary>Elements (not bytes), as the persistent id gives them.</summary>
    public long Numel { get; } = numel;

    public override string Describe() => $"storage {StorageClass} '{Key}' of {Numel} elements";
}
