namespace Diffusion.Training.Plots;

public static partial class Plots
{
    public const int ConvergencePlotWidth = 800, ConvergencePlotHeight = 600;

    /// <summary>The convergence plot's plot area (x, y, width, height).</summary>
    public static readonly (int X, int Y, int W, int H) ConvergenceArea = (86, 50, 680, 480);

    /// <summary>
    /// A log-log plot of error against NFE, one line (with a dot per point) per series and a legend with each series'
    /// label. Non-positive or non-finite errors are skipped.
    /// </summary>
    public static Canvas LogLog(IReadOnlyList<(string Label, double[] Nfe, double[] Error)> series, string title, string xLabel, string yLabel)
    {
        if (series.Count == 0) throw new ArgumentException("no series to plot");
        var canvas = new Canvas(ConvergencePlotWidth, ConvergencePlotHeight, Rgb.White);
        canvas.TextCentered(ConvergencePlotWidth / 2, 10, title, Rgb.Black, 2);
        var xAxis = Axis(series.SelectMany(s => s.Nfe), log: true, includeZero: false);
        var yAxis = Axis(series.SelectMany(s => s.Error), log: true, includeZero: false);
        var (x0, y0, w, h) = ConvergenceArea;
        double Px(double x) => x0 + xAxis.Fraction(x) * (w - 1);
        double Py(double v) => y0 + (1 - yAxis.Fraction(v)) * (h - 1);
        DrawGrid(canvas, ConvergenceArea, xAxis.Ticks, Px, yAxis.Ticks, Py);
        for (var s = 0; s < series.Count; s++)
        {
            var (label, xs, ys) = series[s];
            var colour = Rgb.Palette[s % Rgb.Palette.Length];
            bool Ok(int i) => double.IsFinite(ys[i]) && ys[i] > 0 && double.IsFinite(xs[i]) && xs[i] > 0;
            for (var i = 0; i < xs.Length; i++)
            {
                if (!Ok(i)) continue;
                canvas.Dot(Px(xs[i]), Py(ys[i]), 3, colour, 1);
                if (i > 0 && Ok(i - 1))
                    for (var k = 0; k < 2; k++)
                        canvas.Line(Px(xs[i - 1]), Py(ys[i - 1]) + k, Px(xs[i]), Py(ys[i]) + k, colour);
            }
            var ly = y0 + h - 14 - (series.Count - 1 - s) * 13;
            canvas.FillRect(x0 + 10, ly + 2, 14, 3, colour);
            canvas.Text(x0 + 30, ly, label, Rgb.Black);
        }
        canvas.DrawRect(x0 - 1, y0 - 1, w + 2, h + 2, Rgb.Black);
        canvas.Text(x0, y0 - 12, yLabel, Rgb.Black);
        canvas.TextCentered(x0 + w / 2, y0 + h + 22, xLabel, Rgb.Black);
        return canvas;
    }
}
