using Diffusion.Torch;

namespace Diffusion.Training.Sde;

/// <summary>The score of the perturbed data, ∇ₓ log p_t(x): (N, …) and continuous times (N) → (N, …).</summary>
public delegate Tensor ScoreFn(Tensor x, Tensor t);

/// <summary>
/// A forward SDE dx = f(x, t) dt + g(t) dw on t ∈ [0, 1] (Song et al. 2021, "Score-Based Generative Modeling
/// through SDEs", eq. 5; score_sde's sde_lib.py). Every one used here is affine in x with a Gaussian perturbation
/// kernel p_t(x | x₀) = N(α(t)·x₀, σ(t)²·I), so training and sampling need only α (<see cref="MeanCoefficient"/>)
/// and σ (<see cref="Std"/>). Time tensors are (N); results broadcast against (N, …) data.
/// </summary>
public abstract record ForwardSde
{
    /// <summary>End time of the forward process.</summary>
    public const double T = 1.0;

    public abstract ProcessKind Kind { get; }

    /// <summary>f(x, t) (N, …).</summary>
    public abstract Tensor Drift(Tensor x, Tensor t);

    /// <summary>g(t) (N).</summary>
    public abstract Tensor Diffusion(Tensor t);

    /// <summary>α(t) in the mean α(t)·x₀ of p_t(x | x₀) (N).</summary>
    public abstract Tensor MeanCoefficient(Tensor t);

    /// <summary>σ(t), the standard deviation of p_t(x | x₀) (N).</summary>
    public abstract Tensor Std(Tensor t);

    /// <summary>α(t) and σ(t) at one scalar time, for closed-form checks and step-size rules.</summary>
    public abstract (double Alpha, double Sigma) Marginal(double t);

    /// <summary>Mean α(t)·x₀ and std σ(t) of p_t(x | x₀).</summary>
    public (Tensor Mean, Tensor Std) Marginal(Tensor x0, Tensor t) => (Broadcast(MeanCoefficient(t), x0) * x0, Std(t));

    /// <summary>Standard deviation of the prior p_T (1 for VP and sub-VP, σ_max for VE).</summary>
    public abstract double PriorStd { get; }

    /// <summary>A draw from the prior N(0, PriorStd²·I).</summary>
    public Tensor PriorSample(long[] shape, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        return (torch.randn(shape, generator) * PriorStd).MoveToOuterDisposeScope();
    }

    /// <summary>log N(z; 0, PriorStd²·I) per sample (N).</summary>
    public Tensor PriorLogp(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var d = z.numel() / z.shape[0];
        var dims = Enumerable.Range(1, (int)z.dim() - 1).Select(i => (long)i).ToArray();
        var sq = z.square().sum(dims) / (PriorStd * PriorStd); // (N)
        return (sq * -0.5 - d * 0.5 * Math.Log(2 * Math.PI * PriorStd * PriorStd)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One step of the discretised forward process x_{i+1} = x_i + f_i + G_i·z over <paramref name="steps"/> steps
    /// (score_sde's <c>discretize</c>). The default is Euler–Maruyama: f·Δt, g·√Δt; VP and VE override it with
    /// their DDPM / SMLD discretisations, which the reverse-diffusion predictor uses.
    /// </summary>
    public virtual (Tensor F, Tensor G) Discretize(Tensor x, Tensor t, int steps)
    {
        var dt = T / steps;
        return (Drift(x, t) * dt, Diffusion(t) * Math.Sqrt(dt));
    }

    /// <summary>The reverse-time SDE (eq. 6) or, with <paramref name="probabilityFlow"/>, the probability-flow ODE (eq. 13).</summary>
    public ReverseSde Reverse(ScoreFn score, bool probabilityFlow = false) => new(this, score, probabilityFlow);

    /// <summary>(N) → (N, 1, …, 1) so it multiplies (N, …) data.</summary>
    public static Tensor Broadcast(Tensor perSample, Tensor like)
    {
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = perSample.shape[0];
        return perSample.reshape(shape);
    }
}
