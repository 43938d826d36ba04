namespace Diffusion.Torch.Serialization;

/// <summary>Names of the pickle opcodes the restricted unpickler refuses, for its messages (CPython Lib/pickle.py).</summary>
internal static class PickleOpcodes
{
    private static readonly Dictionary<byte, (string Name, string Why)> Refused = new()
    {
        [(byte)'i'] = ("INST", "it constructs an instance of a class"),
        [(byte)'o'] = ("OBJ", "it constructs an instance of a class"),
        [0x81] = ("NEWOBJ", "it constructs an instance of a class"),
        [0x92] = ("NEWOBJ_EX", "it constructs an instance of a class"),
        [0x82] = ("EXT1", "it names a global through the copyreg extension registry"),
        [0x83] = ("EXT2", "it names a global through the copyreg extension registry"),
        [0x84] = ("EXT4", "it names a global through the copyreg extension registry"),
        [(byte)'P'] = ("PERSID", "torch.save writes persistent ids with BINPERSID"),
        [0x8f] = ("EMPTY_SET", "a state dict holds no sets"),
        [0x90] = ("ADDITEMS", "a state dict holds no sets"),
        [0x91] = ("FROZENSET", "a state dict holds no sets"),
        [0x96] = ("BYTEARRAY8", "out-of-band buffers are not part of a checkpoint"),
        [0x97] = ("NEXT_BUFFER", "out-of-band buffers are not part of a checkpoint"),
        [0x98] = ("READONLY_BUFFER", "out-of-band buffers are not part of a checkpoint"),
        [(byte)'I'] = ("INT", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'L'] = ("LONG", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'F'] = ("FLOAT", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'S'] = ("STRING", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'V'] = ("UNICODE", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'d'] = ("DICT", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'l'] = ("LIST", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'g'] = ("GET", "a text opcode of protocol 0, which torch.save does not write"),
        [(byte)'p'] = ("PUT", "a text opcode of protocol 0, which torch.save does not write"),
    };

    public static string Describe(byte op) =>
        Refused.TryGetValue(op, out var e) ? $"{e.Name} (0x{op:x2})" : $"0x{op:x2}";

    public static string Why(byte op) =>
        Refused.TryGetValue(op, out var e) ? e.Why : "not a pickle opcode this reader knows";
}
