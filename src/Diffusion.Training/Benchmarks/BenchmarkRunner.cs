using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Optim;
using Diffusion.Training.Losses;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Benchmarks;

/// <summary>
/// Runs a <see cref="BenchmarkCase"/>: builds the model from a fixed seed, sets the thread count (the
/// <see cref="ThreadPolicy"/> default unless one is given), runs the warm-up steps, then times the rest.
/// A training step is exactly what the contract names — loss, backward, Adam, zero_grad — without the trainer's
/// EMA and clipping, so both sides of the comparison do the same work.
/// </summary>
public static class BenchmarkRunner
{
    public const string Impl = "diffusion";

    public static BenchmarkResult Run(BenchmarkCase benchCase, int? threads = null, int? warmup = null, int? steps = null)
    {
        var warm = warmup ?? benchCase.Warmup;
        var timed = steps ?? benchCase.Steps;
        if (warm < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warm, "warm-up steps must be ≥ 0");
        if (timed < 1) throw new ArgumentOutOfRangeException(nameof(steps), timed, "need at least one timed step");
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");

        using var workload = Workload.Create(benchCase);
        if (threads is { } n) torch.set_num_threads(n);
        else ThreadPolicy.Apply(workload.MacsPerStep);

        workload.Run(warm);
        // Split the timed steps at step 100 (warm-up included) to record the peak RSS there; sampling runs are one piece.
        var first = benchCase.Kind == BenchmarkKind.SampleEm ? timed : Math.Clamp(100 - warm, 0, timed);
        var clock = Stopwatch.StartNew();
        workload.Run(first);
        var at100 = warm + first == 100 && benchCase.Kind != BenchmarkKind.SampleEm;
        double? rssAt100 = at100 ? PeakRssMib() : null;
        long? mapsAt100 = at100 ? torch.cpu.memory_stats().Maps : null;
        workload.Run(timed - first);
        var seconds = clock.Elapsed.TotalSeconds;
        return new BenchmarkResult(Impl, benchCase.Name, seconds / timed, torch.get_num_threads(), workload.Params, PeakRssMib(),
            timed, warm, rssAt100, workload.MacsPerStep, mapsAt100, torch.cpu.memory_stats().Maps);
    }

    /// <summary>The process's peak resident set (VmHWM on Linux), MiB.</summary>
    public static double PeakRssMib()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    /// <summary>A model with its inputs, ready to run any number of steps of one kind.</summary>
    private abstract class Workload : IDisposable
    {
        protected readonly IScoreModel Model;
        protected readonly Generator Noise = new(1);
        protected readonly long[] Batch;
        protected readonly ForwardSde Sde = new VpSde();

        protected Workload(BenchmarkCase c)
        {
            using (var init = new Generator(0)) Model = Presets.Get(c.Preset).Build(init);
            Batch = c.Batch;
        }

        public long Params => Model.Parameters.Count();

        /// <summary>Multiply-accumulates of one step, for the thread policy.</summary>
        public abstract double MacsPerStep { get; }

        public abstract void Run(int steps);

        public static Workload Create(BenchmarkCase c) => c.Kind switch
        {
            BenchmarkKind.Train => new TrainWorkload(c),
            BenchmarkKind.Forward => new ForwardWorkload(c),
            _ => new SampleWorkload(c),
        };

        protected double ForwardMacs => (double)Model.Module.Macs * Batch[0];

        public virtual void Dispose()
        {
            Model.Dispose();
            Noise.Dispose();
        }
    }

    private sealed class TrainWorkload : Workload
    {
        private readonly Tensor x0;
        private readonly Adam optimizer;
        private readonly ScoreMatchingLoss loss;
        private readonly Prediction prediction;
        private readonly Generator dropout = new(2);

        public TrainWorkload(BenchmarkCase c) : base(c)
        {
            x0 = torch.randn(Batch, Noise);
            optimizer = new Adam(Model.Parameters.Trainable(), new AdamOptions { lr = 1e-4 });
            loss = new ScoreMatchingLoss(Sde);
            prediction = Predictions.From(Model.Target);
        }

        public override double MacsPerStep => ForwardMacs * 3;

        public override void Run(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                using var scope = torch.NewDisposeScope();
                loss.Compute(Model, prediction, x0, Noise, dropout: dropout).backward();
                optimizer.step();
                optimizer.zero_grad();
            }
        }

        public override void Dispose()
        {
            x0.Dispose();
            optimizer.Dispose();
            dropout.Dispose();
            base.Dispose();
        }
    }

    private sealed class ForwardWorkload : Workload
    {
        private readonly Tensor x, t;

        public ForwardWorkload(BenchmarkCase c) : base(c)
        {
            x = torch.randn(Batch, Noise);
            t = torch.full([Batch[0]], 500.0);
        }

        public override double MacsPerStep => ForwardMacs;

        public override void Run(int steps)
        {
            using var noGrad = torch.no_grad();
            for (var i = 0; i < steps; i++)
            {
                using var scope = torch.NewDisposeScope();
                Model.Forward(x, t);
            }
        }

        public override void Dispose()
        {
            x.Dispose();
            t.Dispose();
            base.Dispose();
        }
    }

    private sealed class SampleWorkload(BenchmarkCase c) : Workload(c)
    {
        public override double MacsPerStep => ForwardMacs;

        public override void Run(int steps)
        {
            if (steps == 0) return;
            var score = ModelFunctions.Score(ModelFunctions.Network(Model), Sde, Predictions.From(Model.Target));
            using var result = EulerMaruyama.Sample(Sde, score, Batch, steps, Noise);
        }
    }
}
