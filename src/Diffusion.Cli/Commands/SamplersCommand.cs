using System.CommandLine;
using System.Globalization;
using Diffusion.Training.Plots;
using Diffusion.Training.Sampling;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion samplers [--plot FILE.png] [--sde vp|subvp|ve] [--data gaussian|mixture] [--json]</c>: the deterministic
/// σ-space samplers' convergence to the exact probability-flow endpoint on closed-form Gaussian or Gaussian-mixture data
/// (<see cref="SamplerConvergence"/>): error
/// against NFE at 4 … 128 steps on the Karras grid, and each sampler's fitted order (16 … 128 steps).
/// </summary>
public static class SamplersCommand
{
    private static readonly Option<string?> Plot = new("--plot") { Description = "Write a log-log plot of error against NFE to this PNG" };
    private static readonly Option<string> Sde = new("--sde") { Description = "The process: vp, subvp or ve (default vp)", DefaultValueFactory = _ => "vp" };
    private static readonly Option<string> Data = new("--data") { Description = $"{ConvergenceDataSets.Names.Help} (default gaussian)", DefaultValueFactory = _ => "gaussian" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() =>
        CliSupport.Command("samplers", "Measure the deterministic samplers' convergence orders against the exact PF-ODE on Gaussian or Gaussian-mixture data", Run, Plot, Sde, Data, Json);

    private static int Run(ParseResult r)
    {
        var process = ProcessKinds.Names.Parse(r.GetValue(Sde)!, "--sde");
        if (process is ProcessKind.Ddpm or ProcessKind.Edm) throw new UsageException("--sde: the convergence study needs a score-matching SDE (vp, subvp or ve)");
        var data = ConvergenceDataSets.Names.Parse(r.GetValue(Data)!, "--data");
        var sdeName = ProcessKinds.Names.Name(process);
        var dataName = ConvergenceDataSets.Names.Name(data);
        var series = SamplerConvergence.MeasureAll(process, data: data);

        var table = new Table().AddColumns("sampler", "steps", "NFE", "max error", "fitted order", "expected");
        foreach (var s in series)
            for (var i = 0; i < s.Points.Count; i++)
            {
                var p = s.Points[i];
                table.AddRow(i == 0 ? s.Sampler : "", $"{p.Steps}", $"{p.Nfe}", p.Error.ToString("E2", CultureInfo.InvariantCulture),
                    i == 0 ? s.Order.ToString("F2", CultureInfo.InvariantCulture) : "", i == 0 ? $"{s.ExpectedOrder:0}" : "");
            }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{Markup.Escape(sdeName)}, {dataName} data, Karras grid, 64 draws; order = −slope of log error on log NFE over {SamplerConvergence.FitSteps[0]}…{SamplerConvergence.FitSteps[^1]} steps");

        var plot = r.GetValue(Plot);
        if (plot is not null)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(plot));
            if (dir is not null) Directory.CreateDirectory(dir);
            Plots.LogLog(series.Select(s => ($"{s.Sampler} (ORDER {s.Order.ToString("F2", CultureInfo.InvariantCulture)})",
                    s.Points.Select(p => (double)p.Nfe).ToArray(), s.Points.Select(p => p.Error).ToArray())).ToArray(),
                $"SAMPLER CONVERGENCE ({sdeName.ToUpperInvariant()}, {dataName.ToUpperInvariant()}, KARRAS GRID)", "NFE", "MAX ERROR VS EXACT PF-ODE ENDPOINT").Save(plot);
            AnsiConsole.MarkupLine($"plotted to [bold]{Markup.Escape(plot)}[/]");
        }
        if (r.GetValue(Json))
            CliSupport.JsonLine(new
            {
                sde = sdeName, data = dataName, grid = "karras",
                rows = series.SelectMany(s => s.Points).Select(p => new { sampler = p.Sampler, steps = p.Steps, nfe = p.Nfe, error = p.Error }).ToArray(),
                orders = series.ToDictionary(s => s.Sampler, s => s.Order),
                expected_orders = series.ToDictionary(s => s.Sampler, s => s.ExpectedOrder),
            });
        return 0;
    }
}
