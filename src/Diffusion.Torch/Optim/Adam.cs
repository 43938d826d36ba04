using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch.Optim;

/// <summary>Hyperparameters of <see cref="Adam"/> and <see cref="AdamW"/>; defaults as in PyTorch's Adam.</summary>
public sealed record AdamOptions : OptimizerOptions
{
    public override double lr { get; init; } = 1e-3;
    public double beta1 { get; init; } = 0.9;
    public double beta2 { get; init; } = 0.999;
    public double eps { get; init; } = 1e-8;

    /// <summary>Normalise by the running maximum of the second moment (Reddi et al. 2018).</summary>
    public bool amsgrad { get; init; }

    /// <summary>
    /// One kernel pass per float32 tensor, as PyTorch's <c>fused=True</c>: the same element operations in the same order
    /// as the default op-by-op path, so the two agree to rounding (not bit for bit), at one read and write of each tensor
    /// instead of about ten ATen ops. Other dtypes and non-contiguous tensors take the default path.
    /// </summary>
    public bool fused { get; init; }

    public override IEnumerable<string> Errors()
    {
        foreach (var e in base.Errors()) yield return e;
        if (!(beta1 >= 0 && beta1 < 1)) yield return $"beta1={beta1} must be in [0, 1)";
        if (!(beta2 >= 0 && beta2 < 1)) yield return $"beta2={beta2} must be in [0, 1)";
        if (!(eps >= 0)) yield return $"eps={eps} must be >= 0";
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) exactly as PyTorch 1.13 computes it; weight decay is L2, added to
/// the gradient (g = ∇ + wd·p). With t the param's own step count:
/// m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²; p −= lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε).
/// State per param: step, <c>exp_avg</c>, <c>exp_avg_sq</c> and, with amsgrad, <c>max_exp_avg_sq</c>.
/// </summary>
public class Adam : Optimizer<AdamOptions>
{
    public Adam(IEnumerable<Tensor> parameters, AdamOptions? options = null) : this(parameters, options ?? new AdamOptions(), decoupled: false) { }

    public Adam(IEnumerable<ParamGroup<AdamOptions>> groups, AdamOptions defaults) : this(groups, defaults, decoupled: false) { }

    private protected Adam(IEnumerable<Tensor> parameters, AdamOptions options, bool decoupled)
        : this([new ParamGroup<AdamOptions>(parameters, options)], options, decoupled) { }

    private protected Adam(IEnumerable<ParamGroup<AdamOptions>> groups, AdamOptions defaults, bool decoupled) : base(groups, defaults) =>
        this.decoupled = decoupled;

    private readonly bool decoupled;

    private static readonly string[] Slots = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    private protected override IReadOnlyList<string> SlotNames => Slots;

    private protected override bool CountsSteps => true;

    private protected override IEnumerable<string> RequiredSlots(AdamOptions o) =>
        o.amsgrad ? Slots : ["exp_avg", "exp_avg_sq"];

    private protected override unsafe int NativeStep(AdamOptions o, IntPtr* handles, long* steps, int n) =>
        dt_adam_step(handles, handles + n, handles + 2 * n, handles + 3 * n, steps, n, o.lr, o.beta1, o.beta2, o.eps,
            o.weight_decay, o.amsgrad ? 1 : 0, o.maximize ? 1 : 0, decoupled ? 1 : 0, o.fused ? 1 : 0);
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019): Adam with decoupled weight decay, p *= 1 − lr·wd before
/// the Adam update, as PyTorch 1.13 computes it. Default weight_decay is 1e-2, as in PyTorch.
/// </summary>
public sealed class AdamW : Adam
{
    public static AdamOptions Defaults { get; } = new() { weight_decay = 1e-2 };

    public AdamW(IEnumerable<Tensor> parameters, AdamOptions? options = null) : base(parameters, options ?? Defaults, decoupled: true) { }

    public AdamW(IEnumerable<ParamGroup<AdamOptions>> groups, AdamOptions defaults) : base(groups, defaults, decoupled: true) { }
}
