using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Checkpoints;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Training.Tests.Checkpoints;

/// <summary>
/// Fuzzes everything that reads a checkpoint (Find, the three JSON readers, the optimizer state, the model with EMA and
/// raw weights) with mutated files: flipped bits, truncation, appended bytes, and JSON fields removed or set to odd
/// values — with the manifest left as written (the hash must catch every change) or rewritten over the mutation (as a
/// buggy writer would: then validation must). Every case ends in success or one of the clear errors the CLI reports,
/// within a bound on time and memory.
/// </summary>
public class CheckpointLoaderFuzzTests
{
    private static readonly string[] Files =
    [
        Checkpoint.ModelWeights, Checkpoint.EmaWeights, Checkpoint.OptimizerTensors, Checkpoint.OptimizerMetadata,
        Checkpoint.ModelConfigFile, Checkpoint.TrainingConfigFile, Checkpoint.StateFile, CheckpointManifest.FileName,
    ];

    private static readonly string[] OddValues = ["-1", "0", "1e9", "2147483648", "-2147483649", "1e400", "\"x\"", "null", "[]", "{}", "true", "\"NaN\"", "0.5"];

    public abstract record Mutation(string File, bool RewriteManifest);
    public sealed record FlipBit(string File, double Where, int Bit, bool RewriteManifest) : Mutation(File, RewriteManifest);
    public sealed record Truncate(string File, double Keep, bool RewriteManifest) : Mutation(File, RewriteManifest);
    public sealed record Append(string File, byte[] Bytes, bool RewriteManifest) : Mutation(File, RewriteManifest);
    public sealed record SetField(string File, int Field, string? Value, bool RewriteManifest) : Mutation(File, RewriteManifest); // null: remove it

    private static readonly Gen<Mutation> Mutations =
        from file in Gen.Elements(Files)
        from rewrite in Gen.Elements(true, false)
        from kind in Gen.Choose(0, 3)
        from at in Gen.Choose(0, 1_000_000).Select(i => i / 1e6)
        from bit in Gen.Choose(0, 7)
        from bytes in Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf().Where(a => a.Length is > 0 and < 64)
        from field in Gen.Choose(0, 40)
        from value in Gen.Elements(OddValues.Append(null).ToArray())
        select kind switch
        {
            0 => (Mutation)new FlipBit(file, at, bit, rewrite),
            1 => new Truncate(file, at, rewrite),
            2 => new Append(file, bytes, rewrite),
            _ => file.EndsWith(".json") ? new SetField(file, field, value, rewrite) : new FlipBit(file, at, bit, rewrite),
        };

    private static readonly Lazy<string> Template = new(() => Path.Combine(CheckpointIntegrityTests.TrainedRun("fuzz-template"), Checkpoint.DirectoryName(10)));

    /// <summary>Applies the mutation to a copy of the template checkpoint; false when it changed no byte (a JSON field index past the end).</summary>
    private static bool Apply(Mutation m, string dir)
    {
        var path = Path.Combine(dir, m.File);
        var before = File.ReadAllBytes(path);
        byte[] after;
        switch (m)
        {
            case FlipBit f:
                after = (byte[])before.Clone();
                after[(int)(f.Where * (after.Length - 1))] ^= (byte)(1 << f.Bit);
                break;
            case Truncate t:
                after = before[..(int)(t.Keep * before.Length)];
                break;
            case Append a:
                after = [.. before, .. a.Bytes];
                break;
            case SetField s:
                var json = JsonNode.Parse(before)!.AsObject();
                var fields = Leaves(json).ToArray();
                var (parent, key) = fields[s.Field % fields.Length];
                if (s.Value is null) parent.Remove(key);
                else parent[key] = JsonNode.Parse(s.Value);
                after = JsonSerializer.SerializeToUtf8Bytes(json);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(m));
        }
        File.WriteAllBytes(path, after);
        if (m.RewriteManifest && m.File != CheckpointManifest.FileName) CheckpointManifest.Write(dir);
        return !before.AsSpan().SequenceEqual(after);
    }

    /// <summary>Every (object, key) at any depth: what a SetField mutation may change or remove.</summary>
    private static IEnumerable<(JsonObject Parent, string Key)> Leaves(JsonObject o)
    {
        foreach (var (key, value) in o.ToArray())
        {
            yield return (o, key);
            if (value is JsonObject child)
                foreach (var leaf in Leaves(child)) yield return leaf;
            else if (value is JsonArray array)
                foreach (var item in array.OfType<JsonObject>())
                    foreach (var leaf in Leaves(item)) yield return leaf;
        }
    }

    /// <summary>Everything a command reads from a checkpoint.</summary>
    private static void LoadAll(string dir)
    {
        using var scope = torch.NewDisposeScope();
        var found = Checkpoint.Find(dir) ?? throw new DirectoryNotFoundException(dir);
        Checkpoint.ReadTrainingConfig(found);
        Checkpoint.ReadState(found);
        Checkpoint.ReadOptimizer(found).Dispose();
        Checkpoint.LoadModel(found).Dispose();
        Checkpoint.LoadModel(found, ema: false).Dispose();
    }

    /// <summary>The errors the CLI reports as one line: clear messages, never a crash.</summary>
    private static bool IsClearError(Exception e) => e is InvalidDataException or JsonException or SafetensorsFormatException or ConfigException
        or ArgumentException or FileNotFoundException or DirectoryNotFoundException or FormatException;

    [Fact]
    public void Mutated_checkpoints_load_or_fail_with_a_clear_error_within_bounds()
    {
        var template = Template.Value;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(int.Parse(Environment.GetEnvironmentVariable("FUZZ_CASES") ?? "150")), Prop.ForAll(Mutations.ToArbitrary(), (Mutation m) =>
        {
            var dir = Path.Combine(Support.TempDir("fuzz"), Checkpoint.DirectoryName(10));
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(template)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var changed = Apply(m, dir);
            var memory = Process.GetCurrentProcess().WorkingSet64;
            var clock = Stopwatch.StartNew();
            Exception? error = null;
            try
            {
                LoadAll(dir);
            }
            catch (Exception e)
            {
                error = e;
            }
            var seconds = clock.Elapsed.TotalSeconds;
            var grown = (Process.GetCurrentProcess().WorkingSet64 - memory) / 1048576.0;
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
            // A change the manifest was not rewritten over must be caught (the hash), before anything is parsed.
            if (changed && !m.RewriteManifest && error is not InvalidDataException) return Fail($"{m}: a changed file loaded or failed late: {error}");
            if (error is not null && !IsClearError(error)) return Fail($"{m}: {error.GetType().Name}: {error}");
            if (seconds > 5) return Fail($"{m}: took {seconds:F1} s");
            if (grown > 256) return Fail($"{m}: working set grew {grown:F0} MiB");
            return true;
        }));

        // Thrown, not returned false, so FsCheck's report carries the reason.
        static bool Fail(string why) => throw new Xunit.Sdk.XunitException(why);
    }
}
