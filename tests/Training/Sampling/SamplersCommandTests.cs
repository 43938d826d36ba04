using System.Text.Json;
using Diffusion.Training.Plots;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;
using Diffusion.Training.Tests.Cli;
using Diffusion.Training.Tests.Plots;
using Xunit;
using P = Diffusion.Training.Plots.Plots;

namespace Diffusion.Training.Tests.Sampling;

/// <summary><c>diffusion samplers</c>: the convergence table, its --json rows and the log-log plot.</summary>
public class SamplersCommandTests
{
    [Fact]
    public void The_plotted_rows_fit_each_sampler_to_its_order()
    {
        // The orders themselves are asserted per process and grid in SigmaSamplerConformanceTests; here: the rows the
        // command prints (4 … 128 steps, fitted from 16) report the same orders, and NFE grows with the steps.
        foreach (var s in SamplerConvergence.MeasureAll(ProcessKind.Ve))
        {
            Assert.Equal(SamplerConvergence.PlotSteps, s.Points.Select(p => p.Steps).ToArray());
            Assert.True(s.Points.Zip(s.Points.Skip(1)).All(q => q.Second.Nfe > q.First.Nfe));
            Assert.InRange(s.Order, s.ExpectedOrder - 0.3, s.ExpectedOrder + 0.5);
        }
    }

    [Fact]
    public void The_command_prints_finite_rows_and_writes_a_log_log_plot_that_decodes()
    {
        var path = Path.Combine(Support.TempDir("samplers-plot"), "convergence.png");
        var run = CliRunner.Run("samplers", "--plot", path, "--sde", "vp", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("dpmpp-2m", run.Stdout);
        using var json = JsonDocument.Parse(run.Stdout.TrimEnd().Split('\n')[^1]);
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(SamplerConvergence.Solvers.Count * SamplerConvergence.PlotSteps.Length, rows.Length);
        foreach (var group in rows.GroupBy(r => r.GetProperty("sampler").GetString()))
        {
            var nfe = group.Select(r => r.GetProperty("nfe").GetInt32()).ToArray();
            Assert.True(nfe.Zip(nfe.Skip(1)).All(p => p.Second > p.First), $"{group.Key}: NFE {string.Join(", ", nfe)}");
            Assert.All(group, r => Assert.True(double.IsFinite(r.GetProperty("error").GetDouble()) && r.GetProperty("error").GetDouble() > 0));
        }
        foreach (var order in json.RootElement.GetProperty("orders").EnumerateObject())
            Assert.True(double.IsFinite(order.Value.GetDouble()), order.Name);

        var png = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal((P.ConvergencePlotWidth, P.ConvergencePlotHeight), (png.Width, png.Height));
        var (x0, y0, w, h) = P.ConvergenceArea;
        for (var s = 0; s < SamplerConvergence.Solvers.Count; s++)
        {
            var colour = Rgb.Palette[s];
            var count = 0;
            for (var y = y0; y < y0 + h; y++)
                for (var x = x0; x < x0 + w; x++)
                {
                    var i = (y * png.Width + x) * 3;
                    if (png.Pixels[i] == colour.R && png.Pixels[i + 1] == colour.G && png.Pixels[i + 2] == colour.B) count++;
                }
            Assert.True(count > w / 4, $"series {s}: {count} pixels of its colour in the plot area");
        }

        var bad = CliRunner.Run("samplers", "--sde", "ddpm");
        Assert.Equal(2, bad.ExitCode); // a flag value the command cannot use: a usage error
        var edm = CliRunner.Run("samplers", "--sde", "edm");
        Assert.Equal(2, edm.ExitCode);
        Assert.Contains("needs a score-matching SDE", edm.Stdout + edm.Stderr);
    }

    [Fact]
    public void The_mixture_study_reports_every_solver_near_its_order()
    {
        var run = CliRunner.Run("samplers", "--sde", "ve", "--data", "mixture", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal("mixture", json.RootElement.GetProperty("data").GetString());
        var expected = json.RootElement.GetProperty("expected_orders");
        foreach (var order in json.RootElement.GetProperty("orders").EnumerateObject())
            Assert.InRange(order.Value.GetDouble(), expected.GetProperty(order.Name).GetDouble() - 0.3, expected.GetProperty(order.Name).GetDouble() + 0.5);
        var bad = CliRunner.Run("samplers", "--data", "moons");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--data: unknown convergence data 'moons'; known: gaussian, mixture", bad.Stdout + bad.Stderr);
    }
}
