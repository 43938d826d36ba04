using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch.Optim;

/// <summary>Hyperparameters of <see cref="SGD"/>; defaults as in PyTorch (lr has none).</summary>
public sealed record SGDOptions : OptimizerOptions
{
    public required override double lr { get; init; }
    public double momentum { get; init; }
    public double dampening { get; init; }
    public bool nesterov { get; init; }

    public override IEnumerable<string> Errors()
    {
        foreach (var e in base.Errors()) yield return e;
        if (!(momentum >= 0)) yield return $"momentum={momentum} must be >= 0";
        if (nesterov && (momentum <= 0 || dampening != 0)) yield return $"nesterov needs momentum > 0 and dampening = 0 (got momentum={momentum}, dampening={dampening})";
    }
}

/// <summary>
/// Stochastic gradient descent with optional momentum (PyTorch's form, Sutskever et al. 2013):
/// g = ∇ + wd·p; b = μ·b + (1 − dampening)·g (b = g on the first step); p −= lr·(nesterov ? g + μ·b : b).
/// State per param: <c>momentum_buffer</c> (only when momentum ≠ 0).
/// </summary>
public sealed class SGD : Optimizer<SGDOptions>
{
    public SGD(IEnumerable<Tensor> parameters, SGDOptions options) : this([new ParamGroup<SGDOptions>(parameters, options)], options) { }

    public SGD(IEnumerable<ParamGroup<SGDOptions>> groups, SGDOptions defaults) : base(groups, defaults) { }

    private static readonly string[] Slots = ["momentum_buffer"];

    private protected override IReadOnlyList<string> SlotNames => Slots;

    private protected override bool CountsSteps => false;

    private protected override IEnumerable<string> RequiredSlots(SGDOptions options) => [];

    private protected override unsafe int NativeStep(SGDOptions o, IntPtr* handles, long* steps, int n) =>
        dt_sgd_step(handles, handles + n, n, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov ? 1 : 0, o.maximize ? 1 : 0);
}
