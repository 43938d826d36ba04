using Diffusion.Tests;
using Diffusion.Torch.Serialization;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.TorchCheckpointFiles;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>
/// Malicious pickles are refused by the global they name, before anything could run; legacy, truncated and
/// corrupt archives give a <see cref="TorchCheckpointFormatException"/> naming the file, record, offset and rule.
/// </summary>
public class TorchCheckpointRefusalTests(TorchCheckpointFiles files) : IClassFixture<TorchCheckpointFiles>
{
    [PythonTorchTheory]
    [InlineData("evil_os_system", "global 'posix.system' is not allowed", 169L)]
    [InlineData("evil_eval", "global '__builtin__.eval' is not allowed", null)]
    // Protocol 2 spells subprocess.Popen the Python 2 way (pickle's REVERSE_IMPORT_MAPPING).
    [InlineData("evil_popen", "global 'commands.Popen' is not allowed", null)]
    [InlineData("evil_stack_global", "global 'posix.system' is not allowed", null)]
    [InlineData("module", "global 'torch.nn.modules.linear.Linear' is not allowed", null)]
    public void A_pickle_naming_any_other_global_is_refused_by_name_and_nothing_runs(string name, string rule, long? offset)
    {
        foreach (var load in new Action[] { () => TorchCheckpoint.Load(files.File(name + ".pt")), () => TorchCheckpoint.Read(files.File(name + ".pt")) })
        {
            var e = Assert.Throws<TorchCheckpointFormatException>(load);
            Assert.Contains(rule, e.Message);
            Assert.Equal($"{name}/data.pkl", e.Record);
            Assert.NotNull(e.Offset);
            if (offset is { } o) Assert.Equal(o, e.Offset);
            Assert.StartsWith(files.File(name + ".pt") + $": {name}/data.pkl (byte {e.Offset}): global", e.Message);
        }
        Assert.False(File.Exists(files.Marker), $"{files.Marker} exists: something ran the pickle");
    }

    [PythonTorchFact]
    public void A_legacy_checkpoint_is_refused_with_how_to_resave_it()
    {
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(files.File("legacy.pt")));
        Assert.Contains("saved by torch < 1.6", e.Message);
        Assert.Contains("_use_new_zipfile_serialization=True", e.Message);
    }

    [PythonTorchFact]
    public void A_view_reaching_past_its_storage_is_refused_before_any_tensor_is_made()
    {
        var live = Tensor.LiveNativeTensors;
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(files.File("extent.pt")));
        Assert.Contains("torch._utils._rebuild_tensor_v2: the view (offset 2, size [4, 3], stride [3, 1]) reaches element 13 but its storage torch.FloatStorage '0' of 12 elements holds 12", e.Message);
        Assert.Equal(live, Tensor.LiveNativeTensors);
    }

    [PythonTorchFact]
    public void A_missing_or_short_storage_record_is_refused_naming_it()
    {
        var records = Records(files.File("flat.pt"));
        var missing = Path.Combine(files.Scratch, "missing.pt");
        File.WriteAllBytes(missing, Zip(records.Where(r => r.Name != "flat/data/3").ToArray()));
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(missing));
        Assert.Contains("the persistent id names storage '3', but the archive lacks its record flat/data/3", e.Message);
        Assert.Equal("flat/data.pkl", e.Record);

        var shortened = Path.Combine(files.Scratch, "short.pt");
        File.WriteAllBytes(shortened, Zip(records.Select(r => r.Name == "flat/data/0" ? (r.Name, r.Data[..^4]) : r).ToArray()));
        e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(shortened));
        Assert.Contains("storage record flat/data/0 holds 52 bytes, but the persistent id gives it 14 float32 elements (56 bytes)", e.Message);
    }

    [PythonTorchFact]
    public void A_truncated_archive_is_refused_as_not_a_zip_archive()
    {
        var bytes = File.ReadAllBytes(files.File("flat.pt"));
        var truncated = Path.Combine(files.Scratch, "truncated.pt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(truncated));
        Assert.Contains("not a zip archive as torch.save (≥ 1.6) writes", e.Message);
    }

    [PythonTorchFact]
    public void A_storage_record_with_a_corrupt_local_header_is_refused_naming_the_record()
    {
        // The record's local header (30 bytes, then its name) comes before the central directory's copy of the name.
        var bytes = File.ReadAllBytes(files.File("flat.pt"));
        var header = bytes.AsSpan().IndexOf("flat/data/0"u8) - 30;
        Assert.Equal("PK\x03\x04"u8.ToArray(), bytes[header..(header + 4)]);
        bytes[header + 3] = 0xff;
        var corrupt = Path.Combine(files.Scratch, "corrupt.pt");
        File.WriteAllBytes(corrupt, bytes);
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(corrupt));
        Assert.Equal("flat/data/0", e.Record);
        Assert.Contains("the record cannot be", e.Message);
    }

    [Fact]
    public void Bytes_that_are_no_zip_archive_are_refused()
    {
        using var dir = new ScratchDirectory();
        foreach (var content in new[] { ""u8.ToArray(), "PK\x03\x04 not really"u8.ToArray(), new byte[] { 0x80, 0x02, 0x7d, 0x2e } })
        {
            var path = dir.File("junk.pt");
            File.WriteAllBytes(path, content);
            var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(path));
            Assert.StartsWith($"{path}: not a zip archive", e.Message);
        }
    }

    [Fact]
    public void An_archive_without_data_pkl_is_refused_listing_its_records()
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("nopickle.pt");
        File.WriteAllBytes(path, Zip(("a/version", "3\n"u8.ToArray()), ("a/data/0", new byte[8])));
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.Contains("no <name>/data.pkl record", e.Message);
        Assert.Contains("a/version, a/data/0", e.Message);
    }

    [Theory]
    [InlineData(@"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.", 2, "global 'os.system' is not allowed")]
    [InlineData(@"\x80\x02c__builtin__\nexec\n.", 2, "global '__builtin__.exec' is not allowed")]
    [InlineData(@"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.", 18, "global 'builtins.eval' is not allowed")]
    [InlineData(@"\x80\x02ctorch\n_utils._rebuild_tensor_v2\n.", 2, "global 'torch._utils._rebuild_tensor_v2' is not allowed")]
    [InlineData(@"\x80\x02ccollections\nOrderedDict\n.", null, "collections.OrderedDict is left in the tree uncalled")]
    [InlineData(@"\x80\x02ccollections\nOrderedDict\n)\x81.", 28, "NEWOBJ (0x81) is not allowed in a checkpoint (it constructs an instance of a class)")]
    [InlineData(@"\x80\x02ccollections\nOrderedDict\nK\x01\x85R.", 30, "collections.OrderedDict is called with 1 arguments")]
    [InlineData(@"\x80\x02]K\x01b.", 5, "BUILD may only set the attributes of an OrderedDict, not of list of 0")]
    [InlineData(@"\x80\x02}K\x01a.", 5, "APPEND may only extend a list, not dict of 0")]
    [InlineData(@"\x80\x02}]K\x01s.", 6, "SETITEM: list of 0 cannot be a dict key (unhashable)")]
    [InlineData(@"\x80\x02h\x07.", 2, "memo entry 7 is read before it was written")]
    [InlineData(@"\x80\x02X\xff\x00\x00\x00ab.", 2, "BINUNICODE says 255 bytes follow but only 3 remain")]
    [InlineData(@"\x80\x02}(X\x01\x00\x00\x00a", 10, "data.pkl ended before its STOP opcode")]
    [InlineData(@"\x80\x02u.", 2, "SETITEMS finds no MARK")]
    [InlineData(@"\x80\x02(X\x07\x00\x00\x00storagecos\nsystem\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.", 15, "global 'os.system' is not allowed")]
    [InlineData(@"\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.", 52, "the persistent id names storage '0', but the archive lacks its record a/data/0")]
    public void A_hand_written_pickle_is_refused_at_the_offending_opcode(string pickle, int? offset, string rule)
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("hand.pt");
        File.WriteAllBytes(path, Zip(("a/data.pkl", Pickle(pickle)), ("a/version", "3\n"u8.ToArray())));
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Read(path));
        Assert.Contains(rule, e.Message);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void A_pickle_nested_deeper_than_the_call_stack_is_read_without_overflowing_it()
    {
        using var dir = new ScratchDirectory();
        const int Depth = 200_000;
        var path = dir.File("deep.pt");
        // ] ] ] … then APPEND each list into the one below it: a list nested 200,000 deep.
        var pickle = new List<byte> { 0x80, 0x02 };
        pickle.AddRange(Enumerable.Repeat((byte)']', Depth));
        pickle.AddRange(Enumerable.Repeat((byte)'a', Depth - 1));
        pickle.Add((byte)'.');
        File.WriteAllBytes(path, Zip(("a/data.pkl", pickle.ToArray())));
        var root = Assert.IsType<CheckpointList>(TorchCheckpoint.Read(path));
        Assert.Single(root);
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.Contains("the top level is list of 1, not a dict of tensors", e.Message);
    }

    [Fact]
    public void Big_endian_storages_are_refused()
    {
        using var dir = new ScratchDirectory();
        var path = dir.File("big.pt");
        File.WriteAllBytes(path, Zip(("a/data.pkl", Pickle(@"\x80\x02}.")), ("a/byteorder", "big"u8.ToArray())));
        var e = Assert.Throws<TorchCheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.Equal("a/byteorder", e.Record);
        Assert.Contains("written big-endian", e.Message);
    }
}
