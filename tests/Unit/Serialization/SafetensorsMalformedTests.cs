using System.Text;
using Diffusion.Torch.Serialization;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.SafetensorsTestFiles;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>
/// One test per rule of the format. Each malformed input is tried both in memory and from a file: it
/// must throw <see cref="SafetensorsFormatException"/> naming the source, the tensor at fault and the
/// rule, and must leave no native tensor behind.
/// </summary>
public class SafetensorsMalformedTests
{
    private const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private static SafetensorsFormatException Rejects(byte[] bytes, string expectedRule, string? tensor = null)
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var before = Tensor.SettledLiveNativeTensors();

        var inMemory = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Deserialize(bytes));
        var fromFile = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Throws<SafetensorsFormatException>(() => Safetensors.ReadHeader(path));

        Assert.Equal(before, Tensor.LiveNativeTensors);
        Assert.Equal("<memory>", inMemory.SourceName);
        Assert.Equal(path, fromFile.SourceName);
        Assert.StartsWith(path, fromFile.Message);
        foreach (var e in new[] { inMemory, fromFile })
        {
            Assert.Contains(expectedRule, e.Message);
            Assert.Equal(tensor, e.Tensor);
            if (tensor is not null) Assert.Contains($"tensor '{tensor}'", e.Message);
        }
        return fromFile;
    }

    private static byte[] Header(string json, int dataBytes = 8) => Build(json, new byte[dataBytes]);

    [Fact]
    public void File_shorter_than_the_length_prefix() =>
        Rejects([1, 0, 0, 0, 0], "fewer than the 8-byte header length prefix");

    [Fact]
    public void Header_length_beyond_the_file()
    {
        var bytes = Header("{" + A + "}");
        bytes[0] += 100;
        Assert.Equal(0, Rejects(bytes, "runs past the end of the file").Offset);
    }

    [Fact]
    public void Header_length_beyond_the_100_MB_limit()
    {
        var bytes = Header("{}", 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 100_000_001UL);
        Rejects(bytes, "exceeds the limit of 100000000 bytes");
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), ulong.MaxValue);
        Rejects(bytes, "exceeds the limit");
    }

    [Fact]
    public void Header_that_is_not_JSON()
    {
        Rejects(Header("{\"a\":", 0), "not valid JSON");
        Rejects(Header("", 0), "not valid JSON");
        Assert.Equal(10, Rejects(Build([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], []), "not valid UTF-8").Offset);
    }

    [Fact]
    public void Header_that_is_not_an_object() => Rejects(Header("[1, 2]", 0), "must be a JSON object");

    [Fact]
    public void Entry_that_is_not_an_object() => Rejects(Header("{\"a\": 5}", 0), "must be an object", "a");

    [Fact]
    public void Unknown_dtype() =>
        Rejects(Header("{\"a\":{\"dtype\":\"U32\",\"shape\":[2],\"data_offsets\":[0,8]}}"), "unknown dtype 'U32'", "a");

    [Fact]
    public void Missing_fields()
    {
        Rejects(Header("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}"), "'dtype' is missing", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}"), "'shape' is missing", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}"), "'data_offsets' is missing", "a");
    }

    [Fact]
    public void Shape_with_a_negative_dimension() =>
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2, -1],\"data_offsets\":[0,8]}}"), "negative dimension", "a");

    [Fact]
    public void Shape_with_non_integers()
    {
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}"), "'shape' must hold integers", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}"), "'shape' must hold integers", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,8]}}"), "'shape' must hold integers", "a");
    }

    [Fact]
    public void Shape_whose_byte_size_overflows() =>
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,8]}}"), "too many bytes", "a");

    [Fact]
    public void Data_offsets_that_are_not_two_integers()
    {
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}"), "must hold 2 integers", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}"), "must hold 2 integers", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,null]}}"), "'data_offsets' must hold integers", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\"}}"), "'data_offsets' is missing or not an array", "a");
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-8,0]}}"), "must not be negative", "a");
    }

    [Fact]
    public void Data_offsets_begin_after_end() =>
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}"), "begin is after end", "a");

    [Fact]
    public void Data_offsets_end_beyond_the_data_buffer()
    {
        var e = Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"), "end is beyond the data buffer of 8 bytes", "a");
        Assert.Contains("(byte ", e.Message);
    }

    [Fact]
    public void Byte_size_differs_from_shape_times_element_size() =>
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}"), "needs 12 bytes but data_offsets [0, 8] span 8", "a");

    [Fact]
    public void Overlapping_tensors() =>
        Rejects(Header("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"), "overlap tensor 'a' at [0, 8]", "b");

    [Fact]
    public void Gap_between_tensors()
    {
        var e = Rejects(Header("{" + A + ",\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16), "bytes [8, 12)", "b");
        Assert.Contains("incomplete buffer", e.Message);
    }

    [Fact]
    public void Gap_before_the_first_tensor() =>
        Rejects(Header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"), "bytes [0, 4)", "a");

    [Fact]
    public void Trailing_bytes_after_the_last_tensor()
    {
        var e = Rejects(Header("{" + A + "}", 12), "bytes [8, 12) at the end of the data buffer belong to no tensor");
        Assert.Contains("incomplete buffer", e.Message);
    }

    [Fact]
    public void Duplicate_names()
    {
        Rejects(Header("{" + A + "," + A + "}", 8), "appears twice", "a");
        // The same name spelled with an escape is still the same name.
        Rejects(Header("{" + A + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8), "appears twice", "a");
    }

    [Fact]
    public void Metadata_that_is_not_an_object_of_strings()
    {
        Rejects(Header("{\"__metadata__\":[1]," + A + "}"), "'__metadata__' must be an object of strings");
        Rejects(Header("{\"__metadata__\":{\"epoch\":3}," + A + "}"), "value of 'epoch' must be a string");
    }

    [Fact]
    public void Third_tensor_bad_leaves_no_tensors_alive()
    {
        // a and b are fine; c's byte size is wrong. Nothing may be created or leaked.
        var json = "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            + "\"c\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[16,24]}}";
        var before = Tensor.SettledLiveNativeTensors();
        using (torch.NewDisposeScope()) Rejects(Header(json, 24), "needs 16 bytes", "c");
        Assert.Equal(before, Tensor.LiveNativeTensors);
    }

    [Fact]
    public void Tiny_or_missing_files_fail_with_the_usual_exceptions()
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("t.safetensors");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("short"));
        var e = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains("fewer than the 8-byte", e.Message);
        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(dir.File("missing.safetensors")));
    }
}
