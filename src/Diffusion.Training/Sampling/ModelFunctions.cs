using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>The raw network output for inputs (N, …) and network times (N) (see <see cref="NetworkTime"/>).</summary>
public delegate Tensor NetworkFn(Tensor x, Tensor networkTime);

/// <summary>Adapts a trained model to the samplers' <see cref="ScoreFn"/> and <see cref="NoiseFn"/>.</summary>
public static class ModelFunctions
{
    /// <summary>The model in evaluation mode (no dropout), with fixed conditioning.</summary>
    public static NetworkFn Network(IScoreModel model, Conditioning? conditioning = null) =>
        (x, t) => model.Predict(x, t, conditioning);

    /// <summary>
    /// Classifier-free guidance (Ho &amp; Salimans 2022 eq. 6): out = (1 + w)·out(x | c) − w·out(x | ∅), evaluated as one
    /// batch of 2N; w = 0 is plain conditional sampling. <paramref name="nullLabel"/> is the class the model was trained
    /// with for "no label" (by our architectures' convention, the number of classes).
    /// </summary>
    public static NetworkFn Guided(IScoreModel model, Tensor labels, long nullLabel, double w) => (x, t) =>
    {
        using var scope = torch.NewDisposeScope();
        var n = x.shape[0];
        var both = torch.cat([labels, torch.full([n], nullLabel, ScalarType.Int64)], 0);           // (2N)
        var output = model.Predict(torch.cat([x, x], 0), torch.cat([t, t], 0), new Conditioning(both)); // (2N, …)
        var cond = output.narrow(0, 0, n);
        var uncond = output.narrow(0, n, n);
        return (cond * (1 + w) - uncond * w).MoveToOuterDisposeScope();
    };

    /// <summary>
    /// The network the samplers, the likelihood and the inpainter see for a process, in its time convention
    /// (<see cref="NetworkTime"/>), and what its output means: <paramref name="network"/> and <paramref name="prediction"/>
    /// themselves, or for EDM the preconditioned denoiser D(x; σ(t)) (<see cref="EdmPreconditioning"/>), an x₀-prediction,
    /// at σ(t) of the process's VE SDE (computed in float64 from the network time t·999).
    /// </summary>
    public static (NetworkFn Network, Prediction Prediction) ForProcess(NetworkFn network, Prediction prediction, DiffusionProcess process)
    {
        if (process.Preconditioning is not { } edm) return (network, prediction);
        var sde = (VeSde)process.Sde!;
        NetworkFn denoiser = (x, networkTime) =>
        {
            using var scope = torch.NewDisposeScope();
            var sigma = sde.Sigma(networkTime.to(ScalarType.Float64) / NetworkTime.ContinuousScale);   // (N)
            return edm.Denoise(network, x, sigma).MoveToOuterDisposeScope();
        };
        return (denoiser, Prediction.X0);
    }

    /// <summary>The score for a network trained on a continuous process (its raw output; EDM's is preconditioned first, see <see cref="ForProcess"/>).</summary>
    public static ScoreFn Score(NetworkFn network, DiffusionProcess process, Prediction prediction)
    {
        var sde = process.Sde ?? throw new ArgumentException($"a score needs a continuous process, not {ProcessKinds.Names.Name(process.Kind)}");
        var (wrapped, meaning) = ForProcess(network, prediction, process);
        return Score(wrapped, sde, meaning);
    }

    /// <summary>The score under <paramref name="sde"/>'s marginal for a network trained on it.</summary>
    public static ScoreFn Score(NetworkFn network, ForwardSde sde, Prediction prediction) => (x, t) =>
    {
        using var scope = torch.NewDisposeScope();
        var output = network(x, NetworkTime.Continuous(t));
        return Predictions.ToScore(prediction, output, x, sde.MeanCoefficient(t), sde.Std(t)).MoveToOuterDisposeScope();
    };

    /// <summary>ε̂ for a network trained on the discrete <paramref name="schedule"/>.</summary>
    public static NoiseFn Noise(NetworkFn network, DdpmSchedule schedule, Prediction prediction) => (x, steps) =>
    {
        using var scope = torch.NewDisposeScope();
        var output = network(x, NetworkTime.Discrete(steps));
        var (alpha, sigma) = schedule.Marginal(steps);
        return Predictions.ToEpsilon(prediction, output, x, alpha, sigma).MoveToOuterDisposeScope();
    };
}
