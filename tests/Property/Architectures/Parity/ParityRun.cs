using System.Diagnostics;
using System.Text;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;

namespace Diffusion.Property.Tests.Architectures.Parity;

/// <summary>What one case produced: our output, the reference output and extras, or why it could not be computed.</summary>
public sealed record ParityResult(string OurConfigJson, float[] Ours, float[] Theirs, long[] Shape, IReadOnlyDictionary<string, float[]> Extras,
    IReadOnlyDictionary<string, float[]> OurExtras, string? Error);

/// <summary>
/// Runs a family's cases: builds each model from its JSON, redraws it, runs our forward in eval mode (no dropout
/// generator), writes config.json, weights.safetensors and inputs.safetensors, then runs Fixtures/parity/run_parity.py
/// ONCE for all cases (importing torch costs seconds per process) and reads back theirs.safetensors.
/// A case that fails on either side records its error; its test rethrows it, the other cases still compare.
/// </summary>
public static class ParityRun
{
    public static string Script => Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity", "run_parity.py");

    public static IReadOnlyDictionary<string, ParityResult> Execute(IEnumerable<ParityCase> cases,
        Func<IScoreModel, IReadOnlyDictionary<string, Tensor>>? ourExtras = null)
    {
        var root = Directory.CreateTempSubdirectory("parity-").FullName;
        try
        {
            var prepared = new Dictionary<string, (string Dir, string Json, float[] Ours, long[] Shape, Dictionary<string, float[]> Extras)>();
            var results = new Dictionary<string, ParityResult>();
            foreach (var c in cases)
            {
                try { prepared[c.Name] = Prepare(c, Path.Combine(root, c.Name), ourExtras); }
                catch (Exception e) { results[c.Name] = new("", [], [], [], new Dictionary<string, float[]>(), new Dictionary<string, float[]>(), $"our side failed: {e}"); }
            }
            var python = prepared.Count == 0 ? "" : RunPython(prepared.Values.Select(p => p.Dir));
            foreach (var (name, p) in prepared)
            {
                var theirs = Path.Combine(p.Dir, "theirs.safetensors");
                var error = Path.Combine(p.Dir, "error.txt");
                if (!File.Exists(theirs))
                {
                    var why = File.Exists(error) ? File.ReadAllText(error) : python;
                    results[name] = new(p.Json, p.Ours, [], p.Shape, new Dictionary<string, float[]>(), p.Extras, $"the reference failed:\n{why}");
                    continue;
                }
                using var scope = torch.NewDisposeScope();
                var loaded = Safetensors.Load(theirs);
                var y = loaded["y"];
                var extras = loaded.Where(kv => kv.Key != "y").ToDictionary(kv => kv.Key, kv => kv.Value.@float().contiguous().ToArray<float>());
                var shapeError = y.shape.SequenceEqual(p.Shape) ? null : $"output shapes differ: ours [{string.Join(", ", p.Shape)}], theirs [{string.Join(", ", y.shape)}]";
                results[name] = new(p.Json, p.Ours, y.contiguous().ToArray<float>(), p.Shape, extras, p.Extras, shapeError);
            }
            return results;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static (string, string, float[], long[], Dictionary<string, float[]>) Prepare(ParityCase c, string dir,
        Func<IScoreModel, IReadOnlyDictionary<string, Tensor>>? ourExtras)
    {
        Directory.CreateDirectory(dir);
        using var scope = torch.NewDisposeScope();
        var config = ModelConfig.FromJson(c.ConfigJson);
        using var g = new Generator(c.Seed);
        using var model = config.Build(g);
        ParityDraw.Redraw(model, g, c.Keep);
        var inputs = ParityDraw.Inputs(c, config, g);
        Tensor y;
        using (torch.no_grad())
            y = model.Forward(inputs["x"], inputs["t"], new Conditioning(inputs.GetValueOrDefault("labels"), inputs.GetValueOrDefault("metadata")));
        File.WriteAllText(Path.Combine(dir, "config.json"), c.ConfigJson); // UTF-8 without a BOM, which json.load rejects
        Safetensors.Save(Path.Combine(dir, "weights.safetensors"), model.Parameters.Named().ToDictionary(n => n.Name, n => n.Tensor));
        Safetensors.Save(Path.Combine(dir, "inputs.safetensors"), inputs);
        var extras = (ourExtras?.Invoke(model) ?? new Dictionary<string, Tensor>()).ToDictionary(kv => kv.Key, kv => kv.Value.@float().contiguous().ToArray<float>());
        return (dir, model.Config.ToJson(), y.contiguous().ToArray<float>(), y.shape, extras);
    }

    /// <summary>Runs the driver over every case directory; its stderr is returned for cases that left no output.</summary>
    private static string RunPython(IEnumerable<string> dirs)
    {
        var start = new ProcessStartInfo(Diffusion.Tests.Preconditions.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Script);
        foreach (var d in dirs) start.ArgumentList.Add(d);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return $"{Script} did not finish within 5 minutes";
        }
        return $"{Script} exited with {process.ExitCode}\n{stdout.Result}\n{stderr.Result}";
    }
}
