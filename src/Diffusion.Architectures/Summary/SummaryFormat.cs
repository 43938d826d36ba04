using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Diffusion.Architectures;

/// <summary>Renders a <see cref="ModelSummary"/> as text, markdown or JSON: stable (invariant culture, no timings or addresses).</summary>
internal static class SummaryFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string N(long v) => v.ToString("N0", Inv);

    private static string Shape(long[] s) => "[" + string.Join(", ", s.Select(d => d.ToString(Inv))) + "]";

    /// <summary>1,234,567 → "1.23 M"; bytes use binary units.</summary>
    private static string Short(double v, bool bytes = false)
    {
        string[] units = bytes ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["", "K", "M", "G", "T"];
        double step = bytes ? 1024 : 1000;
        var u = 0;
        while (Math.Abs(v) >= step && u < units.Length - 1) { v /= step; u++; }
        return (u == 0 ? v.ToString("0", Inv) : v.ToString("0.00", Inv)) + (units[u].Length == 0 ? "" : " " + units[u]);
    }

    private static string Label(SummaryRow r) => r.Depth == 0 ? r.Type : new string(' ', 2 * r.Depth) + r.Path;

    private static IEnumerable<(string Key, string Value)> Totals(ModelSummary s) =>
    [
        ("Total params", N(s.TotalParams)),
        ("Trainable params", N(s.TrainableParams)),
        ("Non-trainable params", N(s.NonTrainableParams)),
        ("Total MACs", $"{N(s.Macs)} ({Short(s.Macs)})"),
        ("Input size (float32)", $"{N(s.InputBytes)} bytes ({Short(s.InputBytes, true)})"),
        ("Params size (float32)", $"{N(s.ParamBytes)} bytes ({Short(s.ParamBytes, true)})"),
        ("Forward activations (est.)", $"{N(s.ActivationBytes)} bytes ({Short(s.ActivationBytes, true)})"),
        ("Estimated total size", $"{N(s.InputBytes + s.ParamBytes + s.ActivationBytes)} bytes ({Short(s.InputBytes + s.ParamBytes + s.ActivationBytes, true)})"),
    ];

    public static string Text(ModelSummary s)
    {
        string[] head = ["Layer (path)", "Type", "Output Shape", "Param #", "MACs", "Trainable"];
        var cells = s.Layers.Select(r => new[] { Label(r), r.Type, Shape(r.OutputShape), N(r.Params), N(r.Macs), r.Trainable }).ToList();
        var widths = Enumerable.Range(0, head.Length).Select(c => cells.Select(row => row[c].Length).Append(head[c].Length).Max()).ToArray();
        bool[] right = [false, false, false, true, true, false];
        string Line(string[] row) => string.Join("  ", row.Select((v, c) => right[c] ? v.PadLeft(widths[c]) : v.PadRight(widths[c]))).TrimEnd();
        var rule = new string('=', widths.Sum() + 2 * (widths.Length - 1));
        var sb = new StringBuilder();
        sb.Append($"{s.Name} — input {Shape(s.InputShape)}").Append(s.MaxDepth is { } d ? $", depth ≤ {d}" : "").Append('\n');
        sb.Append(rule).Append('\n').Append(Line(head)).Append('\n').Append(rule).Append('\n');
        foreach (var row in cells) sb.Append(Line(row)).Append('\n');
        sb.Append(rule).Append('\n');
        var kw = Totals(s).Max(t => t.Key.Length) + 1;
        foreach (var (k, v) in Totals(s)) sb.Append((k + ":").PadRight(kw + 1)).Append(v).Append('\n');
        sb.Append(rule).Append('\n');
        return sb.ToString();
    }

    public static string Markdown(ModelSummary s)
    {
        var sb = new StringBuilder();
        sb.Append($"### {s.Name} — input `{Shape(s.InputShape)}`").Append(s.MaxDepth is { } d ? $", depth ≤ {d}" : "").Append("\n\n");
        sb.Append("| Layer (path) | Type | Output shape | Param # | MACs | Trainable |\n|---|---|---|--:|--:|---|\n");
        foreach (var r in s.Layers)
        {
            var label = r.Depth == 0 ? $"**{r.Type}**" : new string('\u00a0', 2 * (r.Depth - 1)) + (r.Depth > 1 ? "└ " : "") + $"`{r.Path}`";
            sb.Append($"| {label} | {r.Type} | `{Shape(r.OutputShape)}` | {N(r.Params)} | {N(r.Macs)} | {r.Trainable} |\n");
        }
        sb.Append('\n');
        foreach (var (k, v) in Totals(s)) sb.Append($"- **{k}**: {v}\n");
        return sb.ToString();
    }

    public static string Json(ModelSummary s)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", s.Name);
            Array(w, "input_shape", s.InputShape);
            if (s.MaxDepth is { } d) w.WriteNumber("depth", d); else w.WriteNull("depth");
            w.WriteNumber("total_params", s.TotalParams);
            w.WriteNumber("trainable_params", s.TrainableParams);
            w.WriteNumber("non_trainable_params", s.NonTrainableParams);
            w.WriteNumber("macs", s.Macs);
            w.WriteNumber("input_bytes", s.InputBytes);
            w.WriteNumber("param_bytes", s.ParamBytes);
            w.WriteNumber("activation_bytes", s.ActivationBytes);
            w.WriteStartArray("layers");
            foreach (var r in s.Layers)
            {
                w.WriteStartObject();
                w.WriteString("path", r.Path);
                w.WriteString("type", r.Type);
                w.WriteNumber("depth", r.Depth);
                Array(w, "output_shape", r.OutputShape);
                w.WriteNumber("params", r.Params);
                w.WriteNumber("trainable_params", r.TrainableParams);
                w.WriteNumber("macs", r.Macs);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Array(Utf8JsonWriter w, string name, long[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
