using System.CommandLine;
using System.Diagnostics;
using Diffusion.Torch;
using Diffusion.Training.Checkpoints;
using Diffusion.Training.Data;
using Diffusion.Training.Likelihood;
using Diffusion.Training.Loop;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Spectre.Console;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion likelihood --checkpoint DIR [--data D] [--n N] [--probes K] [--estimator rademacher|gaussian|exact]
/// [--seed S] [--tol T] [--json]</c>: the exact negative log-likelihood of N fresh data points under a continuous-SDE
/// checkpoint, by the probability-flow ODE (<see cref="ExactLikelihood"/>). Images are uniformly dequantised and
/// also reported in bits/dim.
/// </summary>
public static class LikelihoodCommand
{
    private static readonly Option<string> CheckpointDir = new("--checkpoint") { Description = "A run directory (its latest checkpoint is used) or one step-* checkpoint directory", Required = true };
    private static readonly Option<string?> Data = new("--data") { Description = $"Data to evaluate ({DataSets.Names.Known}, or a path as for train); default: the run's data set" };
    private static readonly Option<int> N = new Option<int>("--n") { Description = "Number of fresh data points", DefaultValueFactory = _ => 1000 }.Within(1, 100_000_000);
    private static readonly Option<int> Batch = new Option<int>("--batch") { Description = "Points per ODE solve", DefaultValueFactory = _ => 1000 }.Within(1, 1_000_000);
    private static readonly Option<int> Probes = new Option<int>("--probes") { Description = "Hutchinson probes per point, averaged (one VJP each per evaluation)", DefaultValueFactory = _ => 1 }.Within(1, 1000);
    private static readonly Option<string> Estimator = new("--estimator") { Description = TraceEstimators.Names.Help, DefaultValueFactory = _ => "rademacher" };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of the data draw (probes and dequantisation use seed + 1)", DefaultValueFactory = _ => 0UL };
    private static readonly Option<double> Tolerance = new Option<double>("--tol") { Description = "rtol = atol of the adaptive ODE solver", DefaultValueFactory = _ => 1e-5 }.Within(0, 0.1, minExclusive: true);
    private static readonly Option<double> Eps = new Option<double>("--eps") { Description = "Start time ε of the ODE (score_sde: 1e-5)", DefaultValueFactory = _ => 1e-5 }.Within(0, 0.5, minExclusive: true);
    private static readonly Option<bool> Raw = new("--raw-weights") { Description = "Use the raw weights instead of the EMA" };
    private static readonly Option<bool> Json = CliSupport.JsonOption();

    public static Command Create() => CliSupport.Command("likelihood", "Exact negative log-likelihood of fresh data under a checkpoint (probability-flow ODE)",
        Run, CheckpointDir, Data, N, Batch, Probes, Estimator, Seed, Tolerance, Eps, Raw, Json);

    private static int Run(ParseResult r)
    {
        var path = r.GetValue(CheckpointDir)!;
        var dir = CheckpointArgument.Find(path);
        var training = Checkpoint.ReadTrainingConfig(dir);
        var process = training.Process;
        var sde = process.Sde
            ?? throw new ArgumentException($"likelihood needs a model trained on a continuous SDE (vp, subvp, ve, edm); this run used {ProcessKinds.Names.Name(training.Sde)}");
        var n = r.GetValue(N);
        if (n < 1) throw new UsageException($"--n {n}: need at least one point");
        var batch = r.GetValue(Batch);
        if (batch < 1) throw new UsageException($"--batch {batch}: need at least one point");
        var probes = r.GetValue(Probes);
        if (probes < 1) throw new UsageException($"--probes {probes}: need at least one probe");
        var estimator = TraceEstimators.Names.Parse(r.GetValue(Estimator)!, "--estimator");
        var dataRef = r.GetValue(Data) is { } text ? DataRef.Parse(text, "--data") : training.Data;
        var tol = r.GetValue(Tolerance);
        var options = new LikelihoodOptions(estimator, probes, tol, tol, r.GetValue(Eps));
        var seed = r.GetValue(Seed);

        using var scope = torch.NewDisposeScope();
        using var model = Checkpoint.LoadModel(dir, ema: !r.GetValue(Raw));
        using var data = DataSources.Resolve(dataRef);
        if (!data.SampleShape.SequenceEqual(model.Config.InputShape))
            throw new UsageException($"--data {dataRef}: points of shape [{string.Join(", ", data.SampleShape)}] do not fit the model's input [{string.Join(", ", model.Config.InputShape)}]");
        ThreadPolicy.Apply((double)model.Module.Macs * Math.Min(n, batch) * (1 + probes));
        var score = ModelFunctions.Score(ModelFunctions.Network(model), process, Predictions.From(model.Target));
        using var dataGenerator = new Generator(seed);
        using var probeGenerator = new Generator(seed + 1);
        // Images (N, C, H, W) and volumes are 8-bit data held in [−1, 1]: dequantise, and report bits/dim with the
        // 256/2 rescaling. 2-D toy points are continuous: bits/dim is NLL / (D ln 2).
        var quantised = data.SampleShape.Length >= 3;

        var nll = new List<double>(n);
        var trueNll = new List<double>(n); // the gaussian set's closed-form NLL of the same points (a paired comparison)
        var nfe = new List<int>();
        var clock = Stopwatch.StartNew();
        for (var done = 0; done < n; done += batch)
        {
            using var inner = torch.NewDisposeScope();
            var x = data.Next(Math.Min(batch, n - done), dataGenerator).X;
            if (dataRef is DataRef.Named { Set: DataSet.Gaussian }) trueNll.AddRange(ToyDatasets.GaussianNll(x));
            if (quantised) x = ExactLikelihood.Dequantize(x, -1, 1, probeGenerator);
            using var result = ExactLikelihood.Evaluate(sde, score, x, probeGenerator, options);
            nll.AddRange(result.Nll.to(ScalarType.Float64).ToArray<double>());
            nfe.Add(result.Nfe);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var dims = data.SampleShape.Aggregate(1L, (a, b) => a * b);
        var mean = nll.Average();
        var se = n > 1 ? Math.Sqrt(nll.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n) : double.NaN;
        var bpd = ExactLikelihood.BitsPerDim(mean, dims, quantised ? 2 : null);
        var meanNfe = nfe.Average();
        AnsiConsole.MarkupLine($"NLL of {n} fresh {Markup.Escape(dataRef.ToString()!)} points: [bold]{mean:F4} ± {se:F4}[/] nats per point " +
                               $"({bpd:F4} bits/dim), {meanNfe:F0} NFE, {TraceEstimators.Names.Name(estimator)} × {probes}, {seconds:F1} s, from [bold]{Markup.Escape(dir)}[/]");
        double? trueMean = trueNll.Count == n ? trueNll.Average() : null;
        if (trueMean is { } tm)
            AnsiConsole.MarkupLine($"gaussian: entropy {ToyDatasets.GaussianEntropy:F4} nats; true NLL of these points {tm:F4}; model − true = {mean - tm:+0.0000;-0.0000}");
        if (r.GetValue(Json))
            CliSupport.JsonLine(new { n, nll = mean, nll_se = se, bits_per_dim = bpd, nfe = meanNfe, probes, estimator = TraceEstimators.Names.Name(estimator), true_nll = trueMean,
                seconds = Math.Round(seconds, 3) });
        return 0;
    }
}
