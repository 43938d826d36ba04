using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Diffusion.Tests;
using Diffusion.Torch.Serialization;
using Xunit;
using static Diffusion.Torch.Tests.Serialization.SafetensorsTestFiles;

namespace Diffusion.Torch.Tests.Serialization;

/// <summary>Files written by Python (Fixtures/make_safetensors_fixture.py) read here, and files written here read by Python.</summary>
public class SafetensorsInteropTests
{
    [Fact]
    public void Reference_file_written_by_python_loads_with_the_expected_tensors_and_metadata()
    {
        using var scope = torch.NewDisposeScope();
        using var expected = JsonDocument.Parse(File.ReadAllBytes(FixturePath("reference.expected.json")));
        var expectedTensors = expected.RootElement.GetProperty("tensors");

        using var file = Safetensors.LoadWithMetadata(FixturePath("reference.safetensors"));

        Assert.Equal(expectedTensors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), file.Tensors.Keys);
        foreach (var entry in expectedTensors.EnumerateObject())
        {
            var t = file.Tensors[entry.Name];
            var e = entry.Value;
            Assert.Equal(e.GetProperty("dtype").GetString(), SafetensorsDType.NameOf(t.dtype));
            Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), t.shape);
            Assert.Equal(e.GetProperty("hex").GetString(), Convert.ToHexStringLower(Bytes(t)));
            AssertValues(entry.Name, t, e.GetProperty("values"));
        }
        var metadata = expected.RootElement.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal("ünïcødé ✓", file.Metadata["note"]);
    }

    [Fact]
    public void Reference_file_header_lists_data_in_another_order_than_its_keys()
    {
        var header = Safetensors.ReadHeader(FixturePath("reference.safetensors"));

        // The fixture stores data in reverse key order; entries come back in buffer order.
        Assert.Equal("transposed.i32", header.Tensors[0].Name);
        Assert.Equal("weight.f32", header.Tensors[^1].Name);
        Assert.Equal(new FileInfo(FixturePath("reference.safetensors")).Length, header.DataStart + header.DataLength);
    }

    [PythonTorchFact]
    public void File_written_here_is_read_back_by_python_torch()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new ScratchDirectory();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = torch.tensor([Math.PI, -1e-300]),
            ["f32"] = torch.arange(6).reshape(2, 3).to(ScalarType.Float32) * 0.25,
            ["f16"] = torch.tensor([(Half)1.5f, (Half)(-65504f)]),
            ["bf16"] = torch.tensor([(BFloat16)3.0f, (BFloat16)(-0.0078125f)]),
            ["i64"] = torch.tensor([long.MinValue, long.MaxValue]),
            ["i32"] = torch.tensor([int.MinValue, 7]),
            ["i16"] = torch.tensor(new short[] { short.MinValue, short.MaxValue }),
            ["i8"] = torch.tensor(new sbyte[] { -128, 127 }),
            ["u8"] = torch.tensor(new byte[] { 0, 255 }),
            ["bool"] = torch.tensor([true, false, true], [1, 3]),
            ["scalar"] = torch.scalar_tensor(2.5, ScalarType.Float64),
            ["empty"] = torch.zeros(0, 4),
            ["transposed"] = torch.arange(6).reshape(2, 3).T,
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcødé ✓" };
        var path = dir.File("ours.safetensors");
        Safetensors.Save(path, tensors, metadata);

        using var python = JsonDocument.Parse(RunPython(FixturePath("read_safetensors.py"), path));

        var seen = python.RootElement.GetProperty("tensors");
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), seen.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var (name, t) in tensors)
        {
            var e = seen.GetProperty(name);
            Assert.Equal(SafetensorsDType.NameOf(t.dtype), e.GetProperty("dtype").GetString());
            Assert.Equal(t.shape, e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(Convert.ToHexStringLower(Bytes(t)), e.GetProperty("hex").GetString());
            AssertValues(name, t, e.GetProperty("values"));
        }
        Assert.Equal(metadata, python.RootElement.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));
    }

    /// <summary>Values listed flat in row-major order: exact integers and booleans, doubles for floating point.</summary>
    private static void AssertValues(string name, Tensor t, JsonElement values)
    {
        var listed = values.EnumerateArray().ToArray();
        if (t.dtype == ScalarType.Bool)
        {
            using var asLong = t.to(ScalarType.Int64);
            Assert.Equal(listed.Select(v => v.GetBoolean()), asLong.ToArray<long>().Select(v => v != 0));
        }
        else if (t.dtype.IsFloatingPoint())
        {
            using var asDouble = t.to(ScalarType.Float64);
            Assert.Equal(listed.Select(v => v.GetDouble()), asDouble.ToArray<double>());
        }
        else
        {
            using var asLong = t.to(ScalarType.Int64);
            Assert.Equal(listed.Select(v => v.GetInt64()), asLong.ToArray<long>());
        }
        Assert.True(listed.Length == t.numel(), $"{name}: {listed.Length} values listed for {t.numel()} elements");
    }

    private static string RunPython(string script, string argument)
    {
        var start = new ProcessStartInfo(Preconditions.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{script} did not finish within 2 minutes");
        }
        Assert.True(process.ExitCode == 0, $"{script} failed with exit code {process.ExitCode}:\n{stderr.Result}");
        return stdout.Result;
    }
}
