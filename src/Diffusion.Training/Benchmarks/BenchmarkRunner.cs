using System.Diagnostics;
using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Diffusion.Torch.Optim;
using Diffusion.Training.Loop;
using Diffusion.Training.Losses;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Benchmarks;

/// <summary>
/// Runs a <see cref="BenchmarkCase"/>: builds the model from a fixed seed, sets the thread count (the
/// <see cref="ThreadPolicy"/> default unless one is given), runs the warm-up steps, then times the rest.
/// A training step is exactly what the contract names — loss, backward, Adam, zero_grad — without the trainer's
/// EMA and clipping, so both sides of the comparison do the same work. Under bf16 (<see cref="Precision"/>) a training
/// step casts the master weights once, as the trainer does; a forward or sampling run casts them once for the run.
/// </summary>
public static class BenchmarkRunner
{
    public const string Impl = "diffusion";

    public static BenchmarkResult Run(BenchmarkCase benchCase, int? threads = null, int? warmup = null, int? steps = null, Precision precision = Precision.FP32)
    {
        var (warm, timed) = StepCounts(benchCase, threads, warmup, steps);

        using var workload = WarmedUp(benchCase, threads, warm, precision);
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
            timed, warm, rssAt100, workload.MacsPerStep, mapsAt100, torch.cpu.memory_stats().Maps, PrecisionNames.Names.Name(precision));
    }

    /// <summary>
    /// Runs the warm-up steps, then <paramref name="steps"/> more under <see cref="torch.profiler"/>: where the time of
    /// those steps goes, per operator (divide by the steps for a step's share). Time with <see cref="Run"/>, not with this.
    /// </summary>
    public static IReadOnlyList<OpStat> Profile(BenchmarkCase benchCase, int? threads = null, int? warmup = null, int? steps = null, Precision precision = Precision.FP32)
    {
        var (warm, timed) = StepCounts(benchCase, threads, warmup, steps);
        using var workload = WarmedUp(benchCase, threads, warm, precision);
        return torch.profiler.measure(() => workload.Run(timed));
    }

    /// <summary>The warm-up and measured step counts (the case's defaults where not given), checked with the thread count.</summary>
    private static (int Warm, int Timed) StepCounts(BenchmarkCase benchCase, int? threads, int? warmup, int? steps)
    {
        var (warm, timed) = (warmup ?? benchCase.Warmup, steps ?? benchCase.Steps);
        if (warm < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warm, "warm-up steps must be ≥ 0");
        if (timed < 1) throw new ArgumentOutOfRangeException(nameof(steps), timed, "need at least one measured step");
        if (threads is < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");
        return (warm, timed);
    }

    /// <summary>The case's workload on <paramref name="threads"/> (the <see cref="ThreadPolicy"/>'s choice when null), after its warm-up steps.</summary>
    private static Workload WarmedUp(BenchmarkCase benchCase, int? threads, int warm, Precision precision)
    {
        var workload = Workload.Create(benchCase, precision);
        try
        {
            if (threads is { } n) torch.set_num_threads(n);
            else ThreadPolicy.Apply(workload.MacsPerStep);
            workload.Run(warm);
            return workload;
        }
        catch
        {
            workload.Dispose();
            throw;
        }
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
        protected readonly Precision Precision;
        protected readonly Generator Noise = new(1);
        protected readonly long[] Batch;
        protected readonly ForwardSde Sde = new VpSde();

        protected Workload(BenchmarkCase c, Precision precision)
        {
            using (var init = new Generator(0)) Model = Presets.Get(c.Preset).Build(init);
            Batch = c.Batch;
            Precision = precision;
        }

        /// <summary>The model in the run's precision, with its weights cast now (dispose it when they change); null in float32.</summary>
        protected PrecisionModel? Mixed() => Precision == Precision.FP32 ? null : new PrecisionModel(Model, Precision);

        public long Params => Model.Parameters.Count();

        /// <summary>Multiply-accumulates of one step, for the thread policy.</summary>
        public abstract double MacsPerStep { get; }

        public abstract void Run(int steps);

        public static Workload Create(BenchmarkCase c, Precision precision) => c.Kind switch
        {
            BenchmarkKind.Train => new TrainWorkload(c, precision),
            BenchmarkKind.Forward => new ForwardWorkload(c, precision),
            _ => new SampleWorkload(c, precision),
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

        public TrainWorkload(BenchmarkCase c, Precision precision) : base(c, precision)
        {
            x0 = torch.randn(Batch, Noise);
            optimizer = new Adam(Model.Parameters.Trainable(), new AdamOptions { lr = 1e-4, fused = true }); // as the trainer's
            loss = new ScoreMatchingLoss(Sde);
            prediction = Predictions.From(Model.Target);
        }

        public override double MacsPerStep => ForwardMacs * 3;

        public override void Run(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                using var scope = torch.NewDisposeScope();
                using var mixed = Mixed(); // cast once per step, as the trainer does
                loss.Compute(mixed ?? Model, prediction, x0, Noise, dropout: dropout).backward();
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

        public ForwardWorkload(BenchmarkCase c, Precision precision) : base(c, precision)
        {
            x = torch.randn(Batch, Noise);
            t = torch.full([Batch[0]], 500.0);
        }

        public override double MacsPerStep => ForwardMacs;

        public override void Run(int steps)
        {
            using var noGrad = torch.no_grad();
            using var mixed = Mixed();
            for (var i = 0; i < steps; i++)
            {
                using var scope = torch.NewDisposeScope();
                (mixed ?? Model).Forward(x, t);
            }
        }

        public override void Dispose()
        {
            x.Dispose();
            t.Dispose();
            base.Dispose();
        }
    }

    private sealed class SampleWorkload(BenchmarkCase c, Precision precision) : Workload(c, precision)
    {
        public override double MacsPerStep => ForwardMacs;

        public override void Run(int steps)
        {
            if (steps == 0) return;
            using var mixed = Mixed();
            var model = mixed ?? Model;
            var score = ModelFunctions.Score(ModelFunctions.Network(model), Sde, Predictions.From(model.Target));
            using var result = EulerMaruyama.Sample(Sde, score, Batch, steps, Noise);
        }
    }
}
