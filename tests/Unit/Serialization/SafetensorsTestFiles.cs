using System.Buffers.Binary;
using System.Text;
using Diffusion.Torch.Serialization;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>Hand-made safetensors bytes and scratch files for the serialization tests.</summary>
internal static class SafetensorsTestFiles
{
    /// <summary>Prefix + the header exactly as given (no padding) + data.</summary>
    public static byte[] Build(string headerJson, byte[] data) => Build(Encoding.UTF8.GetBytes(headerJson), data);

    public static byte[] Build(byte[] header, byte[] data)
    {
        var result = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        data.CopyTo(result, 8 + header.Length);
        return result;
    }

    /// <summary>A raw copy of the tensor's bytes, for bitwise comparisons.</summary>
    public static byte[] Bytes(Tensor t)
    {
        var result = new byte[t.numel() * t.dtype.ElementSize()];
        TensorBytes.CopyTo(t, result);
        return result;
    }

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}

/// <summary>A fresh directory under the temp folder, deleted with everything in it on dispose.</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "diffusion-safetensors-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] Entries() => Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName).ToArray()!;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
