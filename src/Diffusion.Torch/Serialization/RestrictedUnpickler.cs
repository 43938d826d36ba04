using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Diffusion.Torch.Serialization;

/// <summary>
/// Checks that a storage named by a persistent id exists in the archive and holds its elements; returns the
/// broken rule, or null.
/// </summary>
internal delegate string? CheckStorage(string key, ScalarType dtype, long numel);

/// <summary>
/// A pickle reader that builds data, never objects: it knows the opcodes <c>torch.save</c> writes (protocol 2, and
/// the protocol 4 forms FRAME, SHORT_BINUNICODE, BINUNICODE8, MEMOIZE, STACK_GLOBAL) and the globals of
/// <see cref="PickleGlobals"/>, following PyTorch's <c>weights_only=True</c> unpickler
/// (torch/_weights_only_unpickler.py) and CPython's Lib/pickle.py for each opcode's layout. Any other global is
/// refused where it is named, with its module, name and byte offset; nothing is imported, constructed or called.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private readonly byte[] data;
    private readonly string source;
    private readonly string record;
    private readonly CheckStorage checkStorage;
    private readonly Dictionary<long, CheckpointValue> memo = [];
    private readonly Stack<List<CheckpointValue>> metastack = new();
    private readonly Dictionary<string, CheckpointStorage> storages = new(StringComparer.Ordinal);
    private List<CheckpointValue> stack = [];
    private int position;
    private long opcodeAt;

    private RestrictedUnpickler(byte[] data, string source, string record, CheckStorage checkStorage)
    {
        this.data = data;
        this.source = source;
        this.record = record;
        this.checkStorage = checkStorage;
    }

    /// <summary>The object tree of <paramref name="data"/> (the bytes of <paramref name="record"/>, data.pkl).</summary>
    public static CheckpointValue Load(byte[] data, string source, string record, CheckStorage checkStorage)
    {
        var root = new RestrictedUnpickler(data, source, record, checkStorage).Run();
        PickleTree.RefuseLeftovers(root, source, record);
        return root;
    }

    private CheckpointValue Run()
    {
        while (position < data.Length)
        {
            opcodeAt = position;
            var op = data[position++];
            switch (op)
            {
                case 0x80: Take(1); break;                                   // PROTO: the version byte
                case 0x95: Take(8); break;                                   // FRAME: a length hint, the bytes follow inline
                case (byte)'.': return Pop("STOP");                          // STOP
                case (byte)'(': metastack.Push(stack); stack = []; break;    // MARK
                case (byte)'0': Pop("POP"); break;
                case (byte)'1': PopMark("POP_MARK"); break;
                case (byte)'2': Push(Top("DUP")); break;
                case (byte)'}': Push(new CheckpointDict(ordered: false)); break;
                case (byte)']': Push(new CheckpointList()); break;
                case (byte)')': Push(new CheckpointTuple([])); break;
                case (byte)'N': Push(CheckpointNone.Instance); break;
                case 0x88: Push(new CheckpointBool(true)); break;           // NEWTRUE
                case 0x89: Push(new CheckpointBool(false)); break;          // NEWFALSE
                case (byte)'J': Push(new CheckpointInt(BinaryPrimitives.ReadInt32LittleEndian(Take(4)))); break;   // BININT
                case (byte)'K': Push(new CheckpointInt(Take(1)[0])); break;                                        // BININT1
                case (byte)'M': Push(new CheckpointInt(BinaryPrimitives.ReadUInt16LittleEndian(Take(2)))); break;  // BININT2
                case 0x8a: Push(Long(Take(1)[0])); break;                                                          // LONG1
                case 0x8b: Push(Long(Length(4, "LONG4"))); break;                                                  // LONG4
                case (byte)'G': Push(new CheckpointFloat(BinaryPrimitives.ReadDoubleBigEndian(Take(8)))); break;   // BINFLOAT is big-endian
                case (byte)'X': Push(Text(Length(4, "BINUNICODE"))); break;
                case 0x8c: Push(Text(Take(1)[0])); break;                                                          // SHORT_BINUNICODE
                case 0x8d: Push(Text(Length(8, "BINUNICODE8"))); break;
                case (byte)'T': Push(new CheckpointBytes(Take(Length(4, "BINSTRING")).ToArray())); break;          // Python 2 str
                case (byte)'U': Push(new CheckpointBytes(Take(Take(1)[0]).ToArray())); break;                      // SHORT_BINSTRING
                case (byte)'B': Push(new CheckpointBytes(Take(Length(4, "BINBYTES")).ToArray())); break;
                case (byte)'C': Push(new CheckpointBytes(Take(Take(1)[0]).ToArray())); break;                      // SHORT_BINBYTES
                case 0x8e: Push(new CheckpointBytes(Take(Length(8, "BINBYTES8")).ToArray())); break;
                case (byte)'t': Push(new CheckpointTuple(PopMark("TUPLE"))); break;
                case 0x85: Push(new CheckpointTuple(PopN(1, "TUPLE1"))); break;
                case 0x86: Push(new CheckpointTuple(PopN(2, "TUPLE2"))); break;
                case 0x87: Push(new CheckpointTuple(PopN(3, "TUPLE3"))); break;
                case (byte)'s': SetItems(PopN(2, "SETITEM"), "SETITEM"); break;
                case (byte)'u': SetItems(PopMark("SETITEMS"), "SETITEMS"); break;
                case (byte)'a': Append(PopN(1, "APPEND"), "APPEND"); break;
                case (byte)'e': Append(PopMark("APPENDS"), "APPENDS"); break;
                case (byte)'q': memo[Take(1)[0]] = Top("BINPUT"); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top("LONG_BINPUT"); break;
                case 0x94: memo[memo.Count] = Top("MEMOIZE"); break;
                case (byte)'h': Push(Get(Take(1)[0])); break;                                        // BINGET
                case (byte)'j': Push(Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;  // LONG_BINGET
                case (byte)'c': Push(Global(Line("GLOBAL"), Line("GLOBAL"))); break;
                case 0x93: StackGlobal(); break;
                case (byte)'R': Reduce(); break;
                case (byte)'b': Build(); break;
                case (byte)'Q': Push(PersistentId(Pop("BINPERSID"))); break;
                default: throw Fail($"opcode {PickleOpcodes.Describe(op)} is not allowed in a checkpoint ({PickleOpcodes.Why(op)})");
            }
        }
        opcodeAt = position;
        throw Fail("data.pkl ended before its STOP opcode (the record is truncated)");
    }

    private CheckpointValue Global(string module, string name)
    {
        // Refused here, by name: the global is never looked up, so nothing it names can run.
        return PickleGlobals.Find(module, name) ?? throw Fail(
            $"global '{module}.{name}' is not allowed: a checkpoint may only name {PickleGlobals.AllowedNames} " +
            "(this reader imports and calls nothing; re-save the tensors as a plain state dict)");
    }

    private void StackGlobal()
    {
        var name = Pop("STACK_GLOBAL");
        var module = Pop("STACK_GLOBAL");
        if (module is not CheckpointString m || name is not CheckpointString n)
            throw Fail($"STACK_GLOBAL needs two strings (module, name), not {module.Describe()} and {name.Describe()}");
        Push(Global(m.Value, n.Value));
    }

    private void Reduce()
    {
        var args = Pop("REDUCE");
        var function = Top("REDUCE");
        if (function is not PickleGlobal g) throw Fail($"REDUCE calls {function.Describe()}, which is not a function");
        if (args is not CheckpointTuple t) throw Fail($"REDUCE of {g.FullName} needs a tuple of arguments, not {args.Describe()}");
        var (value, error) = PickleGlobals.Call(g, t, opcodeAt);
        stack[^1] = value ?? throw Fail(error!);
    }

    private void Build()
    {
        var state = Pop("BUILD");
        var target = Top("BUILD");
        // As the weights_only unpickler: only an OrderedDict's __dict__ may be set (state_dict()'s _metadata).
        if (target is not CheckpointDict { IsOrderedDict: true } dict)
            throw Fail($"BUILD may only set the attributes of an OrderedDict, not of {target.Describe()}");
        if (state is not CheckpointDict attributes)
            throw Fail($"BUILD of an OrderedDict needs a dict of attributes, not {state.Describe()}");
        dict.Attributes = attributes;
    }

    /// <summary><c>('storage', storage_type, key, location, numel)</c>, as torch/serialization.py's persistent_id writes it.</summary>
    private CheckpointStorage PersistentId(CheckpointValue pid)
    {
        if (pid is not CheckpointTuple { Count: 5 } t || t[0] is not CheckpointString { Value: "storage" })
            throw Fail($"persistent id must be ('storage', storage_type, key, location, numel), not {pid.Describe()}");
        if (t[1] is not PickleGlobal { Kind: PickleGlobalKind.Storage } type)
            throw Fail($"persistent id: storage_type must be a storage class (torch.FloatStorage …), not {t[1].Describe()}");
        if (t[2] is not CheckpointString key || t[3] is not CheckpointString location)
            throw Fail($"persistent id: key and location must be strings, not {t[2].Describe()} and {t[3].Describe()}");
        if (!PickleGlobals.TryLong(t[4], out var numel) || numel < 0)
            throw Fail($"persistent id: numel must be a non-negative int, not {t[4].Describe()}");
        if (storages.TryGetValue(key.Value, out var seen))
        {
            if (seen.DType != type.DType || seen.Numel != numel)
                throw Fail($"storage '{key.Value}' is named as {type.FullName} of {numel} elements here but as {seen.StorageClass} of {seen.Numel} before");
            return seen;
        }
        if (checkStorage(key.Value, type.DType, numel) is { } rule) throw Fail(rule);
        var storage = new CheckpointStorage(type.DType, type.FullName, key.Value, location.Value, numel);
        storages.Add(key.Value, storage);
        return storage;
    }

    private void SetItems(List<CheckpointValue> items, string op)
    {
        if (items.Count % 2 != 0) throw Fail($"{op} needs key/value pairs, not {items.Count} values");
        if (Top(op) is not CheckpointDict dict) throw Fail($"{op} may only fill a dict, not {Top(op).Describe()}");
        for (var k = 0; k < items.Count; k += 2)
            if (dict.Set(items[k], items[k + 1]) is { } error) throw Fail($"{op}: {error}");
    }

    private void Append(List<CheckpointValue> items, string op)
    {
        // As the weights_only unpickler: APPEND on anything but a list would call its append method.
        if (Top(op) is not CheckpointList list) throw Fail($"{op} may only extend a list, not {Top(op).Describe()}");
        list.Items.AddRange(items);
    }

    private CheckpointValue Get(long index) =>
        memo.TryGetValue(index, out var v) ? v : throw Fail($"memo entry {index} is read before it was written");

    private CheckpointInt Long(long n) =>
        // LONG1/LONG4: n bytes of two's complement, little-endian (pickle.py decode_long).
        new(new BigInteger(Take(n), isUnsigned: false, isBigEndian: false));

    private CheckpointString Text(long n)
    {
        try
        {
            return new(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(n)));
        }
        catch (DecoderFallbackException)
        {
            throw Fail("a string is not valid UTF-8");
        }
    }

    /// <summary>A GLOBAL argument: the bytes up to the next newline.</summary>
    private string Line(string op)
    {
        var end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0) throw Fail($"{op}: data.pkl ends inside a name (no newline)");
        var line = Encoding.UTF8.GetString(data, position, end - position);
        position = end + 1;
        return line;
    }

    private long Length(int bytes, string op)
    {
        var span = Take(bytes);
        var n = bytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt64LittleEndian(span);
        if (n > (ulong)(data.Length - position))
            throw Fail($"{op} says {n} bytes follow but only {data.Length - position} remain");
        return (long)n;
    }

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n > data.Length - position)
            throw Fail($"data.pkl ends inside an opcode: {n} bytes needed, {data.Length - position} remain (the record is truncated)");
        var span = data.AsSpan(position, (int)n);
        position += (int)n;
        return span;
    }

    private void Push(CheckpointValue v) => stack.Add(v);

    private CheckpointValue Top(string op) => stack.Count > 0 ? stack[^1] : throw Fail($"{op} finds the stack empty");

    private CheckpointValue Pop(string op)
    {
        var v = Top(op);
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private List<CheckpointValue> PopN(int n, string op)
    {
        if (stack.Count < n) throw Fail($"{op} needs {n} values on the stack, finds {stack.Count}");
        var items = stack.GetRange(stack.Count - n, n);
        stack.RemoveRange(stack.Count - n, n);
        return items;
    }

    private List<CheckpointValue> PopMark(string op)
    {
        if (metastack.Count == 0) throw Fail($"{op} finds no MARK");
        var items = stack;
        stack = metastack.Pop();
        return items;
    }

    private TorchCheckpointFormatException Fail(string rule) => new(source, record, opcodeAt, null, rule);
}
