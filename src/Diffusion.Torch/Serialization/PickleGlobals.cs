namespace Diffusion.Torch.Serialization;

/// <summary>What an allowed global is; anything else is refused before it is even named on the stack.</summary>
internal enum PickleGlobalKind
{
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    Storage,
}

/// <summary>An allowed global pushed by GLOBAL/STACK_GLOBAL: a name this reader knows, never an imported object.</summary>
internal sealed class PickleGlobal(string module, string name, PickleGlobalKind kind, ScalarType dtype) : CheckpointValue
{
    public string Module { get; } = module;

    public string Name { get; } = name;

    public PickleGlobalKind Kind { get; } = kind;

    /// <summary>The element type of a storage class.</summary>
    public ScalarType DType { get; } = dtype;

    public string FullName => $"{Module}.{Name}";

    public override string Describe() => $"global {FullName}";
}

/// <summary>
/// The globals a tensor dictionary needs, as PyTorch's own <c>weights_only=True</c> unpickler allows them
/// (torch/_weights_only_unpickler.py, <c>_get_allowed_globals</c>), narrowed to what <c>torch.save</c> of a
/// state dict writes: <c>collections.OrderedDict</c>, the dense rebuild functions of torch/_utils.py and the
/// typed storage classes. Sparse, quantized and meta tensors, dtypes and <c>torch.Size</c> objects are left out.
/// </summary>
internal static class PickleGlobals
{
    private static readonly Dictionary<string, PickleGlobal> Allowed = Build();

    private static Dictionary<string, PickleGlobal> Build()
    {
        var all = new List<PickleGlobal>
        {
            new("collections", "OrderedDict", PickleGlobalKind.OrderedDict, default),
            new("torch._utils", "_rebuild_tensor_v2", PickleGlobalKind.RebuildTensorV2, default),
            new("torch._utils", "_rebuild_tensor", PickleGlobalKind.RebuildTensor, default),
            new("torch._utils", "_rebuild_parameter", PickleGlobalKind.RebuildParameter, default),
        };
        // torch/storage.py: the legacy typed storage names that persistent ids carry (TypedStorage.pickle_storage_type).
        foreach (var (name, dtype) in new[]
        {
            ("FloatStorage", ScalarType.Float32), ("DoubleStorage", ScalarType.Float64), ("HalfStorage", ScalarType.Float16),
            ("BFloat16Storage", ScalarType.BFloat16), ("LongStorage", ScalarType.Int64), ("IntStorage", ScalarType.Int32),
            ("ShortStorage", ScalarType.Int16), ("CharStorage", ScalarType.Int8), ("ByteStorage", ScalarType.UInt8),
            ("BoolStorage", ScalarType.Bool),
        })
            all.Add(new("torch", name, PickleGlobalKind.Storage, dtype));
        return all.ToDictionary(g => g.FullName, StringComparer.Ordinal);
    }

    public static string AllowedNames => string.Join(", ", Allowed.Keys);

    public static PickleGlobal? Find(string module, string name) =>
        Allowed.GetValueOrDefault($"{module}.{name}") is { } g && g.Module == module ? g : null;

    /// <summary>
    /// REDUCE of an allowed function: builds the value it stands for, or returns an error rule. Nothing is
    /// looked up or run; each function's arguments are checked as torch/_utils.py reads them.
    /// </summary>
    public static (CheckpointValue? Value, string? Error) Call(PickleGlobal function, CheckpointTuple args, long offset) =>
        function.Kind switch
        {
            // OrderedDict.__reduce__ gives (OrderedDict, ()) and sets the items afterwards (SETITEMS).
            PickleGlobalKind.OrderedDict => args.Count == 0
                ? (new CheckpointDict(ordered: true), null)
                : (null, $"collections.OrderedDict is called with {args.Count} arguments; a pickled OrderedDict is made empty and then filled"),
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            PickleGlobalKind.RebuildTensorV2 => args.Count is 6 or 7
                ? Tensor(function, args, offset, requiresGradArg: 4)
                : (null, $"{function.FullName} takes 6 or 7 arguments (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]), not {args.Count}"),
            // _rebuild_tensor(storage, storage_offset, size, stride): the pre-1.0 form, still loadable by torch.load.
            PickleGlobalKind.RebuildTensor => args.Count == 4
                ? Tensor(function, args, offset, requiresGradArg: null)
                : (null, $"{function.FullName} takes 4 arguments (storage, storage_offset, size, stride), not {args.Count}"),
            // _rebuild_parameter(data, requires_grad, backward_hooks)
            PickleGlobalKind.RebuildParameter => Parameter(function, args),
            _ => (null, $"{function.FullName} is a storage class; it may only appear in a persistent id, not be called"),
        };

    private static (CheckpointValue?, string?) Tensor(PickleGlobal f, CheckpointTuple args, long offset, int? requiresGradArg)
    {
        if (args[0] is not CheckpointStorage storage)
            return (null, $"{f.FullName}: argument 0 must be a storage (a persistent id), not {args[0].Describe()}");
        if (!TryLong(args[1], out var storageOffset) || storageOffset < 0)
            return (null, $"{f.FullName}: storage_offset must be a non-negative int, not {args[1].Describe()}");
        if (!TryLongs(args[2], out var size) || size.Any(d => d < 0))
            return (null, $"{f.FullName}: size must be a tuple of non-negative ints, not {args[2].Describe()}");
        if (!TryLongs(args[3], out var stride) || stride.Any(d => d < 0))
            return (null, $"{f.FullName}: stride must be a tuple of non-negative ints, not {args[3].Describe()}");
        if (size.Length != stride.Length)
            return (null, $"{f.FullName}: size ({size.Length} dims) and stride ({stride.Length} dims) differ in length");
        var requiresGrad = false;
        if (requiresGradArg is { } r)
        {
            if (args[r] is not CheckpointBool b) return (null, $"{f.FullName}: requires_grad must be a bool, not {args[r].Describe()}");
            requiresGrad = b.Value;
            // backward_hooks is an OrderedDict of hook functions; a hook would be a global, refused already.
            if (args[r + 1] is not CheckpointDict) return (null, $"{f.FullName}: backward_hooks must be a dict, not {args[r + 1].Describe()}");
        }
        var extent = Extent(storage, storageOffset, size, stride);
        if (extent is not null) return (null, $"{f.FullName}: {extent}");
        return (new CheckpointTensor(storage, storageOffset, size, stride, requiresGrad, offset), null);
    }

    private static (CheckpointValue?, string?) Parameter(PickleGlobal f, CheckpointTuple args)
    {
        if (args.Count != 3)
            return (null, $"{f.FullName} takes 3 arguments (data, requires_grad, backward_hooks), not {args.Count}");
        if (args[0] is not CheckpointTensor data) return (null, $"{f.FullName}: data must be a tensor, not {args[0].Describe()}");
        if (args[1] is not CheckpointBool requiresGrad) return (null, $"{f.FullName}: requires_grad must be a bool, not {args[1].Describe()}");
        if (args[2] is not CheckpointDict) return (null, $"{f.FullName}: backward_hooks must be a dict, not {args[2].Describe()}");
        return (new CheckpointTensor(data.Storage, data.StorageOffset, data.Shape, data.Stride, requiresGrad.Value, data.PickleOffset) { IsParameter = true }, null);
    }

    /// <summary>
    /// The view must stay inside its storage: the last element it reaches, offset + Σ (size − 1) · stride, is below
    /// the storage's element count (ATen's <c>checkInBoundsForStorage</c>); an empty view only needs its offset inside.
    /// </summary>
    private static string? Extent(CheckpointStorage storage, long offset, long[] size, long[] stride)
    {
        try
        {
            long numel = 1, last = offset;
            for (var d = 0; d < size.Length; d++)
            {
                numel = checked(numel * size[d]);
                if (size[d] > 0) last = checked(last + (size[d] - 1) * stride[d]);
            }
            if (numel == 0 ? offset <= storage.Numel : last < storage.Numel) return null;
            return $"the view (offset {offset}, size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}]) reaches element {last} " +
                   $"but its {storage.Describe()} holds {storage.Numel}";
        }
        catch (OverflowException)
        {
            return $"the view (offset {offset}, size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}]) has too many elements to address";
        }
    }

    public static bool TryLong(CheckpointValue v, out long value)
    {
        value = 0;
        if (v is not CheckpointInt i || i.Value < long.MinValue || i.Value > long.MaxValue) return false;
        value = (long)i.Value;
        return true;
    }

    private static bool TryLongs(CheckpointValue v, out long[] values)
    {
        values = [];
        if (v is not CheckpointTuple t) return false;
        values = new long[t.Count];
        for (var k = 0; k < t.Count; k++)
            if (!TryLong(t[k], out values[k])) return false;
        return true;
    }
}
