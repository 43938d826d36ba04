using Diffusion.Torch;

namespace Diffusion.Training.Sde;

/// <summary>
/// The reverse-time process of <paramref name="Forward"/> given a score s(x, t) (Song et al. 2021):
/// SDE (eq. 6)  dx = [f(x, t) − g(t)²·s(x, t)] dt + g(t) dw̄,
/// ODE (eq. 13) dx = [f(x, t) − ½g(t)²·s(x, t)] dt (the probability flow; no noise).
/// Time runs from T down to ε, so an Euler step uses a negative dt.
/// </summary>
public sealed record ReverseSde(ForwardSde Forward, ScoreFn Score, bool ProbabilityFlow)
{
    private double ScoreWeight => ProbabilityFlow ? 0.5 : 1.0;

    /// <summary>Reverse drift (N, …).</summary>
    public Tensor Drift(Tensor x, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var g = ForwardSde.Broadcast(Forward.Diffusion(t), x);
        return (Forward.Drift(x, t) - g.square() * Score(x, t) * ScoreWeight).MoveToOuterDisposeScope();
    }

    /// <summary>Reverse diffusion (N): g(t), or 0 for the ODE.</summary>
    public Tensor Diffusion(Tensor t) => ProbabilityFlow ? torch.zeros_like(t) : Forward.Diffusion(t);

    /// <summary>The reverse of the forward discretisation: f − G²·s·(½ for the ODE), and G (0 for the ODE).</summary>
    public (Tensor F, Tensor G) Discretize(Tensor x, Tensor t, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var (f, g) = Forward.Discretize(x, t, steps);
        var reverseF = f - ForwardSde.Broadcast(g.square(), x) * Score(x, t) * ScoreWeight;
        var reverseG = ProbabilityFlow ? torch.zeros_like(g) : g;
        scope.MoveToOuter(reverseF, reverseG);
        return (reverseF, reverseG);
    }
}
