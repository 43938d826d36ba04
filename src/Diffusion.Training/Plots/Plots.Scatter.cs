using Diffusion.Torch;

namespace Diffusion.Training.Plots;

/// <summary>An axis-aligned plotting window in data coordinates.</summary>
public readonly record struct PlotRange(double XMin, double XMax, double YMin, double YMax)
{
    /// <summary>[−r, r]².</summary>
    public static PlotRange Symmetric(double r) => new(-r, r, -r, r);

    /// <summary>The same window widened so both axes span the larger extent (equal aspect).</summary>
    public PlotRange Square()
    {
        var half = Math.Max(XMax - XMin, YMax - YMin) / 2;
        double cx = (XMin + XMax) / 2, cy = (YMin + YMax) / 2;
        return new(cx - half, cx + half, cy - half, cy + half);
    }
}

/// <summary>
/// Plots rasterised in C# into an RGB <see cref="Canvas"/> and written as PNG: scatter plots of
/// 2-D point sets, image grids and volume slices. No plotting library, no fonts from the system.
/// </summary>
public static partial class Plots
{
    private const int Pad = 8, TickLength = 4;

    /// <summary>
    /// Scatter plot of 2-D point sets (each (N, 2)). <paramref name="overlay"/> draws every series in
    /// one panel with a legend; otherwise each series gets its own panel (titled by its label),
    /// side by side with a shared range. Range: fixed, or automatic (0.1 %–99.9 % quantiles of
    /// all points, widened 8 % and made square).
    /// </summary>
    public static void Scatter(string path, IReadOnlyList<(string Label, Tensor Points)> series, string? title = null,
        bool overlay = true, PlotRange? range = null, int panelSize = 360)
    {
        if (series.Count == 0) throw new ArgumentException("scatter needs at least one series", nameof(series));
        var data = series.Select(s => ToPoints(s.Points, s.Label)).ToArray();
        var window = range ?? AutoRange(data);
        PanelSpec[] panels = overlay
            ? [new PanelSpec(title: null, series.Select((s, i) => (s.Label, data[i], Rgb.Palette[i % Rgb.Palette.Length])).ToArray(), Legend: series.Count > 1)]
            : series.Select((s, i) => new PanelSpec(s.Label, [(s.Label, data[i], Rgb.Palette[i % Rgb.Palette.Length])], Legend: false)).ToArray();
        Render(panels, window, title, panelSize, columns: panels.Length).Save(path);
    }

    /// <summary>
    /// Side-by-side panels (e.g. "data | EM samples | ODE samples", or a reverse trajectory at
    /// several times), each a titled scatter of one (N, 2) point set, sharing one range.
    /// <paramref name="columns"/> = 0 puts all panels in one row.
    /// </summary>
    public static void ScatterPanels(string path, IReadOnlyList<(string Title, Tensor Points)> panels, string? title = null,
        PlotRange? range = null, int panelSize = 300, int columns = 0)
    {
        if (panels.Count == 0) throw new ArgumentException("need at least one panel", nameof(panels));
        var data = panels.Select(p => ToPoints(p.Points, p.Title)).ToArray();
        var window = range ?? AutoRange(data);
        var specs = panels.Select((p, i) => new PanelSpec(p.Title, [(p.Title, data[i], Rgb.Palette[0])], Legend: false)).ToArray();
        Render(specs, window, title, panelSize, columns <= 0 ? specs.Length : columns).Save(path);
    }

    private sealed record PanelSpec(string? title, (string Label, float[] Xy, Rgb Colour)[] Series, bool Legend);

    /// <summary>Lays out panels on a grid and draws each: title, axes box, ticks, points.</summary>
    private static Canvas Render(PanelSpec[] panels, PlotRange window, string? title, int size, int columns)
    {
        var rows = (panels.Length + columns - 1) / columns;
        var titleHeight = title is null ? 0 : Canvas.TextHeight(2) + Pad;
        var panelTitleHeight = panels.Any(p => p.title is not null) ? Canvas.TextHeight() + Pad : 0;
        const int left = 44, bottom = 22;
        var cellW = left + size + Pad;
        var cellH = panelTitleHeight + size + bottom;
        var canvas = new Canvas(Pad + columns * cellW, Pad + titleHeight + rows * cellH, Rgb.White);
        if (title is not null) canvas.TextCentered(canvas.Width / 2, Pad, title, Rgb.Black, 2);
        for (var k = 0; k < panels.Length; k++)
        {
            var x0 = Pad + (k % columns) * cellW + left;
            var y0 = Pad + titleHeight + (k / columns) * cellH + panelTitleHeight;
            DrawPanel(canvas, panels[k], window, x0, y0, size);
            if (panels[k].title is { } t) canvas.TextCentered(x0 + size / 2, y0 - panelTitleHeight + 2, t, Rgb.Black);
        }
        return canvas;
    }

    private static void DrawPanel(Canvas canvas, PanelSpec panel, PlotRange w, int x0, int y0, int size)
    {
        double Px(double x) => x0 + (x - w.XMin) / (w.XMax - w.XMin) * size;
        double Py(double y) => y0 + (w.YMax - y) / (w.YMax - w.YMin) * size;

        // Ticks and light grid lines at "nice" values.
        foreach (var t in NiceTicks(w.XMin, w.XMax))
        {
            var px = (int)Math.Round(Px(t));
            canvas.FillRect(px, y0, 1, size, Rgb.LightGray);
            canvas.FillRect(px, y0 + size, 1, TickLength, Rgb.Black);
            canvas.TextCentered(px, y0 + size + TickLength + 3, FormatTick(t), Rgb.Black);
        }
        foreach (var t in NiceTicks(w.YMin, w.YMax))
        {
            var py = (int)Math.Round(Py(t));
            canvas.FillRect(x0, py, size, 1, Rgb.LightGray);
            canvas.FillRect(x0 - TickLength, py, TickLength, 1, Rgb.Black);
            var label = FormatTick(t);
            canvas.Text(x0 - TickLength - 3 - Canvas.TextWidth(label), py - 3, label, Rgb.Black);
        }

        // Points: small translucent discs, so density shows where they pile up.
        var outside = 0;
        var total = panel.Series.Sum(s => s.Xy.Length / 2);
        var alpha = Math.Clamp(3000.0 / Math.Max(total, 1), 0.15, 0.8);
        var radius = total > 5000 ? 0.9 : 1.4;
        foreach (var (_, xy, colour) in panel.Series)
            for (var i = 0; i + 1 < xy.Length; i += 2)
            {
                double x = xy[i], y = xy[i + 1];
                if (!(x >= w.XMin && x <= w.XMax && y >= w.YMin && y <= w.YMax)) { outside++; continue; }
                canvas.Dot(Px(x), Py(y), radius, colour, alpha);
            }
        canvas.DrawRect(x0, y0, size + 1, size + 1, Rgb.Black);

        if (outside > 0)
        {
            var note = $"{outside} OUTSIDE";
            canvas.Text(x0 + size - Canvas.TextWidth(note) - 4, y0 + size - 11, note, Rgb.Gray);
        }
        if (panel.Legend)
            for (var s = 0; s < panel.Series.Length; s++)
            {
                var ly = y0 + 5 + s * 11;
                canvas.FillRect(x0 + 5, ly, 7, 7, panel.Series[s].Colour);
                canvas.Text(x0 + 16, ly, panel.Series[s].Label, Rgb.Black);
            }
    }

    /// <summary>Round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi], about five of them.</summary>
    internal static double[] NiceTicks(double lo, double hi)
    {
        var span = hi - lo;
        if (!(span > 0) || double.IsInfinity(span)) return [];
        var raw = span / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (var t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step)
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks.ToArray();
    }

    private static string FormatTick(double t) =>
        Math.Abs(t) >= 1e4 || (Math.Abs(t) < 1e-3 && t != 0) ? t.ToString("0.#E0") : Math.Round(t, 6).ToString("0.###");

    /// <summary>The automatic window: robust quantiles over every point of every set, widened, square.</summary>
    internal static PlotRange AutoRange(IReadOnlyList<float[]> sets)
    {
        var xs = sets.SelectMany(s => Coordinates(s, 0)).Where(double.IsFinite).ToArray();
        var ys = sets.SelectMany(s => Coordinates(s, 1)).Where(double.IsFinite).ToArray();
        if (xs.Length == 0 || ys.Length == 0) return PlotRange.Symmetric(1);
        Array.Sort(xs);
        Array.Sort(ys);
        double xLo = Quantile(xs, 0.001), xHi = Quantile(xs, 0.999), yLo = Quantile(ys, 0.001), yHi = Quantile(ys, 0.999);
        var extent = Math.Max(Math.Max(xHi - xLo, yHi - yLo), 1e-6);
        var margin = 0.08 * extent;
        return new PlotRange(xLo - margin, xHi + margin, yLo - margin, yHi + margin).Square();
    }

    private static IEnumerable<double> Coordinates(float[] xy, int offset)
    {
        for (var i = offset; i < xy.Length; i += 2) yield return xy[i];
    }

    private static double Quantile(double[] sorted, double q) => sorted[(int)Math.Round(q * (sorted.Length - 1))];

    /// <summary>An (N, 2) tensor as interleaved float x, y pairs.</summary>
    private static float[] ToPoints(Tensor points, string what)
    {
        if (points.dim() != 2 || points.size(1) != 2) throw new ArgumentException($"'{what}': scatter points must be (N, 2), got {points.Describe()}");
        using var scope = torch.NewDisposeScope();
        return points.detach().to(Device.CPU, ScalarType.Float32).contiguous().ToArray<float>();
    }
}
