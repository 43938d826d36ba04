using Diffusion.Training.Loop;

namespace Diffusion.Training.Plots;

public static partial class Plots
{
    public const int LossPlotWidth = 800, LossPlotHeight = 600;

    /// <summary>The loss panel's and learning-rate panel's plot areas (x, y, width, height) within the loss plot.</summary>
    public static readonly (int X, int Y, int W, int H) LossArea = (76, 40, 700, 360), LrArea = (76, 440, 700, 110);

    /// <summary>The smoothed loss is drawn in this colour, opaquely; the raw loss in a translucent lighter one.</summary>
    public static readonly Rgb RawLossColour = Rgb.Palette[0], SmoothLossColour = Rgb.Palette[1], LrColour = Rgb.Palette[2];

    /// <summary>Whether the loss axis is logarithmic: every loss positive and the largest more than ten times the smallest.</summary>
    public static bool LossNeedsLogScale(IReadOnlyList<double> losses)
    {
        var finite = losses.Where(double.IsFinite).ToArray();
        return finite.Length > 0 && finite.Min() > 0 && finite.Max() > 10 * finite.Min();
    }

    /// <summary>
    /// An exponential moving average with bias correction (as TensorBoard's smoothing): s_k = Σ w^(k−j) x_j / Σ w^(k−j),
    /// time constant max(1, n/50) points — 2 % of the run, whatever the logging cadence. Non-finite values are skipped.
    /// </summary>
    public static double[] SmoothLoss(IReadOnlyList<double> values)
    {
        var w = 1 - 1 / Math.Max(1.0, values.Count / 50.0);
        double sum = 0, weight = 0;
        var smoothed = new double[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            if (double.IsFinite(values[i])) (sum, weight) = (sum * w + values[i], weight * w + 1);
            smoothed[i] = weight > 0 ? sum / weight : double.NaN;
        }
        return smoothed;
    }

    /// <summary>
    /// loss.png from a run's metrics: the raw loss (thin, translucent) and its smoothed curve (<see cref="SmoothLoss"/>)
    /// against the step, on a log axis when <see cref="LossNeedsLogScale"/>, above a panel with the learning rate.
    /// </summary>
    public static Canvas LossCurves(IReadOnlyList<StepMetrics> metrics, string? title = null)
    {
        if (metrics.Count == 0) throw new ArgumentException("no metrics to plot (the metrics file has no complete line yet)");
        var canvas = new Canvas(LossPlotWidth, LossPlotHeight, Rgb.White);
        canvas.TextCentered(LossPlotWidth / 2, 8, title ?? "TRAINING LOSS", Rgb.Black, 2);
        double xMin = metrics[0].Step, xMax = metrics[^1].Step;
        if (xMax <= xMin) (xMin, xMax) = (xMin - 1, xMax + 1);
        var steps = metrics.Select(m => (double)m.Step).ToArray();

        var losses = metrics.Select(m => m.Loss).ToArray();
        var smooth = SmoothLoss(losses);
        var log = LossNeedsLogScale(losses);
        var lossAxis = Axis(losses.Concat(smooth), log, includeZero: false);
        DrawXyPanel(canvas, LossArea, xMin, xMax, lossAxis, log ? "LOSS (LOG SCALE)" : "LOSS",
            [(steps, losses, RawLossColour, 0.45, 1), (steps, smooth, SmoothLossColour, 1.0, 2)]);
        var (lx, ly) = (LossArea.X + LossArea.W - 150, LossArea.Y + 8);
        canvas.FillRect(lx, ly, 12, 3, RawLossColour);
        canvas.Text(lx + 18, ly - 2, "RAW", Rgb.Black);
        canvas.FillRect(lx, ly + 12, 12, 3, SmoothLossColour);
        canvas.Text(lx + 18, ly + 10, "SMOOTHED (EMA)", Rgb.Black);

        var lrs = metrics.Select(m => m.Lr).ToArray();
        DrawXyPanel(canvas, LrArea, xMin, xMax, Axis(lrs, log: false, includeZero: true), "LEARNING RATE", [(steps, lrs, LrColour, 1.0, 1)]);
        canvas.TextCentered(LrArea.X + LrArea.W / 2, LrArea.Y + LrArea.H + 22, "STEP", Rgb.Black);
        return canvas;
    }

    /// <summary>Writes <see cref="LossCurves"/> as a PNG (atomically).</summary>
    public static void Loss(string path, IReadOnlyList<StepMetrics> metrics, string? title = null) => LossCurves(metrics, title).Save(path);

    /// <summary>A y axis: its range, whether logarithmic, and its tick values.</summary>
    private sealed record YAxis(double Min, double Max, bool Log, double[] Ticks)
    {
        public double Fraction(double y) => Log ? (Math.Log10(y) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min)) : (y - Min) / (Max - Min);
    }

    private static YAxis Axis(IEnumerable<double> values, bool log, bool includeZero)
    {
        var finite = values.Where(v => double.IsFinite(v) && (!log || v > 0)).ToArray();
        double lo = finite.Length > 0 ? finite.Min() : 0, hi = finite.Length > 0 ? finite.Max() : 1;
        if (log)
        {
            double a = Math.Log10(lo), b = Math.Log10(hi), pad = 0.04 * (b - a);
            var (min, max) = (Math.Pow(10, a - pad), Math.Pow(10, b + pad));
            var ticks = new List<double>();
            for (var k = Math.Floor(a - pad); k <= Math.Ceiling(b + pad); k++)
                foreach (var m in new[] { 1.0, 2.0, 5.0 })
                    if (m * Math.Pow(10, k) is var t && t >= min && t <= max && (m == 1 || b - a < 2)) ticks.Add(t);
            return new YAxis(min, max, true, ticks.ToArray());
        }
        if (includeZero) lo = Math.Min(lo, 0);
        if (!(hi > lo)) (lo, hi) = (lo - 0.5 * Math.Max(Math.Abs(lo), 1e-12), hi + 0.5 * Math.Max(Math.Abs(hi), 1e-12));
        var span = hi - lo;
        (lo, hi) = (includeZero && lo == 0 ? 0 : lo - 0.05 * span, hi + 0.05 * span);
        return new YAxis(lo, hi, false, NiceTicks(lo, hi));
    }

    /// <summary>Light grid lines at the ticks, with tick marks and labels below the x axis and left of the y axis.</summary>
    private static void DrawGrid(Canvas canvas, (int X, int Y, int W, int H) area, IEnumerable<double> xTicks, Func<double, double> px,
        IEnumerable<double> yTicks, Func<double, double> py)
    {
        var (x0, y0, w, h) = area;
        foreach (var t in xTicks)
        {
            var x = (int)Math.Round(px(t));
            canvas.FillRect(x, y0, 1, h, Rgb.LightGray);
            canvas.FillRect(x, y0 + h, 1, TickLength, Rgb.Black);
            canvas.TextCentered(x, y0 + h + TickLength + 3, FormatTick(t), Rgb.Black);
        }
        foreach (var t in yTicks)
        {
            var y = (int)Math.Round(py(t));
            canvas.FillRect(x0, y, w, 1, Rgb.LightGray);
            canvas.FillRect(x0 - TickLength, y, TickLength, 1, Rgb.Black);
            var label = FormatTick(t);
            canvas.Text(x0 - TickLength - 3 - Canvas.TextWidth(label), y - 3, label, Rgb.Black);
        }
    }

    /// <summary>One panel: grid, ticks, the series as polylines (skipping non-finite points), a frame and the y label above it.</summary>
    private static void DrawXyPanel(Canvas canvas, (int X, int Y, int W, int H) area, double xMin, double xMax, YAxis y, string yLabel,
        (double[] Xs, double[] Ys, Rgb Colour, double Alpha, int Thickness)[] series)
    {
        var (x0, y0, w, h) = area;
        double Px(double x) => x0 + (x - xMin) / (xMax - xMin) * (w - 1);
        double Py(double v) => y0 + (1 - y.Fraction(v)) * (h - 1);
        DrawGrid(canvas, area, NiceTicks(xMin, xMax), Px, y.Ticks, Py);
        foreach (var (xs, ys, colour, alpha, thickness) in series)
            for (var i = 1; i < xs.Length; i++)
            {
                if (!Plottable(ys[i - 1], y) || !Plottable(ys[i], y)) continue;
                for (var k = 0; k < thickness; k++)
                    canvas.Line(Px(xs[i - 1]), Py(ys[i - 1]) + k, Px(xs[i]), Py(ys[i]) + k, colour, alpha);
            }
        if (xs0(series) is { } single) canvas.Dot(Px(single.X), Py(single.Y), 2, series[0].Colour, 1);
        canvas.DrawRect(x0 - 1, y0 - 1, w + 2, h + 2, Rgb.Black);
        canvas.Text(x0, y0 - 12, yLabel, Rgb.Black);

        // A run with one logged step has no segment to draw: show its point.
        static (double X, double Y)? xs0((double[] Xs, double[] Ys, Rgb, double, int)[] s) =>
            s.Length > 0 && s[0].Xs.Length == 1 && double.IsFinite(s[0].Ys[0]) ? (s[0].Xs[0], s[0].Ys[0]) : null;
    }

    private static bool Plottable(double v, YAxis y) => double.IsFinite(v) && (!y.Log || v > 0);
}
