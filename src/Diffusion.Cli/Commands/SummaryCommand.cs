using System.CommandLine;
using System.Text.Json;
using Diffusion.Architectures;
using Diffusion.Primitives;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion summary &lt;preset|config.json&gt; [--input 1x3x32x32] [--depth N] [--format text|markdown|json]</c>:
/// a torchinfo-style table from the model's plan (weights are not allocated for DiT and U-ViT).
/// </summary>
public static class SummaryCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A preset name (e.g. dit-xl-2) or a path to a JSON model config" };
        var input = new Option<string?>("--input") { Description = "Input shape with the batch, e.g. 1x4x32x32 (default: 1 × the config's input shape)" };
        var depth = new Option<int?>("--depth") { Description = "Show layers down to this nesting depth (default: all)" }.Within(0, 1000);
        var format = new Option<string>("--format") { Description = "text, markdown or json", DefaultValueFactory = _ => "text" };
        var command = new Command("summary", "Print a model summary: layers, output shapes, parameters, MACs and memory") { model, input, depth, format };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(input), parse.GetValue(depth), parse.GetValue(format) ?? "text",
            Console.Out, Console.Error));
        return command;
    }

    /// <summary>Writes the summary to <paramref name="stdout"/> and returns 0, or one line to <paramref name="stderr"/> and 1.</summary>
    public static int Run(string model, string? input, int? depth, string format, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (format.ToLowerInvariant() is not ("text" or "markdown" or "md" or "json"))
                throw new ArgumentException($"unknown --format '{format}'; use text, markdown or json");
            if (depth < 0) throw new UsageException($"--depth {depth} must be ≥ 0");
            var config = Presets.Resolve(model);
            var shape = input is null ? null : ParseShape(input);
            stdout.Write(ModelSummary.Of(config, shape, depth).Render(format));
            return 0;
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentException or FormatException or JsonException or ShapeException or IOException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"error: invalid model config: {string.Join("; ", e.Problems)}");
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: {CliSupport.Describe(e)}");
            return 1;
        }
    }

    /// <summary>"1x3x32x32" → [1, 3, 32, 32]; every dim a positive integer.</summary>
    public static long[] ParseShape(string text)
    {
        var parts = text.Split('x', 'X', '×');
        var dims = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out dims[i]) || dims[i] <= 0)
                throw new FormatException($"--input '{text}' is not a shape like 1x3x32x32 (positive integers joined by x)");
        return dims;
    }
}
