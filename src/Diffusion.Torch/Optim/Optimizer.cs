using Diffusion.Torch.Native;

namespace Diffusion.Torch.Optim;

/// <summary>What schedulers and training loops need from any optimizer.</summary>
public interface IOptimizer : IDisposable
{
    IReadOnlyList<ParamGroup> param_groups { get; }
    void step();
    void zero_grad();
    OptimizerStateDict state_dict();
    void load_state_dict(OptimizerStateDict state);
}

/// <summary>
/// The shared machinery of PyTorch-style optimizers: parameter groups, per-parameter state
/// tensors ("slots", e.g. Adam's exp_avg) created on a parameter's first step with a gradient,
/// per-parameter step counts, one native call per group per <see cref="step"/>, and state
/// save/restore (see Optimizer.State.cs). State tensors belong to the optimizer, not to any
/// dispose scope; <see cref="Dispose"/> frees them.
/// </summary>
public abstract partial class Optimizer<TOptions> : IOptimizer where TOptions : OptimizerOptions
{
    private readonly List<ParamGroup<TOptions>> groups = new();
    private readonly List<GroupState> states = new();
    private readonly HandlePins pins = new();
    private bool disposed;

    protected Optimizer(IEnumerable<ParamGroup<TOptions>> groups, TOptions defaults)
    {
        defaults.Validate(GetType().Name);
        this.defaults = defaults;
        foreach (var g in groups) add_param_group(g);
        if (this.groups.Sum(g => g.@params.Count) == 0) throw new ArgumentException($"{GetType().Name} got an empty parameter list");
    }

    /// <summary>The optimizer's name as written into state dicts ("Adam", "AdamW", "SGD").</summary>
    public string name => GetType().Name;

    /// <summary>The hyperparameters groups start from: <c>defaults with { lr = … }</c>.</summary>
    public TOptions defaults { get; }

    public IReadOnlyList<ParamGroup<TOptions>> param_groups => groups;

    IReadOnlyList<ParamGroup> IOptimizer.param_groups => groups;

    /// <summary>Names of the per-parameter state tensors, in the order of the native call's slot arrays.</summary>
    private protected abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>Whether each parameter keeps its own step count (Adam's bias correction needs it).</summary>
    private protected abstract bool CountsSteps { get; }

    /// <summary>The slots a parameter that has state must have under <paramref name="options"/>.</summary>
    private protected abstract IEnumerable<string> RequiredSlots(TOptions options);

    /// <summary>
    /// Updates one whole group in one native call. <paramref name="handles"/> holds the parameters
    /// at [0, n) and slot s at [(s + 1)·n, (s + 2)·n); null slots may be filled with new handles.
    /// </summary>
    private protected abstract unsafe int NativeStep(TOptions options, IntPtr* handles, long* steps, int n);

    public void add_param_group(ParamGroup<TOptions> group)
    {
        ThrowIfDisposed();
        var seen = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (var g = 0; g < groups.Count; g++)
            foreach (var p in groups[g].@params) seen[p] = g;
        for (var k = 0; k < group.@params.Count; k++)
            if (!seen.TryAdd(group.@params[k], groups.Count))
                throw new ArgumentException(seen[group.@params[k]] == groups.Count
                    ? $"param {k} of the new group appears in it twice: a parameter may appear once only"
                    : $"param {k} of the new group is already in param group {seen[group.@params[k]]}: a parameter may appear in one group only");
        groups.Add(group);
        states.Add(new GroupState(group.@params.Count, SlotNames.Count));
    }

    /// <summary>Updates every parameter that has a gradient (without recording autograd history).</summary>
    public void step()
    {
        ThrowIfDisposed();
        for (var g = 0; g < groups.Count; g++) StepGroup(groups[g], states[g]);
    }

    private unsafe void StepGroup(ParamGroup<TOptions> group, GroupState state)
    {
        var n = group.@params.Count;
        if (n == 0) return;
        int status;
        try
        {
            pins.Pin(group.@params, state.Raw, 0);
            for (var s = 0; s < state.Slots.Length; s++) pins.Pin(state.Slots[s], state.Raw, (s + 1) * n);
            fixed (IntPtr* h = state.Raw)
            fixed (long* steps = state.Steps)
                status = NativeStep(group.options, h, steps, n);
            state.AdoptNewSlots();
        }
        finally
        {
            pins.Release();
        }
        if (status != 0) Tensor.Throw(status, $"{name}.step");
    }

    /// <summary>Drops every parameter's gradient (PyTorch's <c>set_to_none=True</c>).</summary>
    public unsafe void zero_grad()
    {
        ThrowIfDisposed();
        foreach (var (group, state) in groups.Zip(states))
        {
            if (group.@params.Count == 0) continue;
            int status;
            try
            {
                pins.Pin(group.@params, state.Raw, 0);
                fixed (IntPtr* h = state.Raw) status = NativeMethods.dt_clear_grads(h, group.@params.Count);
            }
            finally
            {
                pins.Release();
            }
            if (status != 0) Tensor.Throw(status, $"{name}.zero_grad");
        }
    }

    /// <summary>Frees the state tensors. The parameters belong to the caller and stay alive.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var s in states) s.Clear();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    /// <summary>One group's state: slot tensors [slot][param], step counts, and the reused handle buffer.</summary>
    private sealed class GroupState(int n, int slotCount)
    {
        public Tensor?[][] Slots { get; } = Enumerable.Range(0, slotCount).Select(_ => new Tensor?[n]).ToArray();
        public long[] Steps { get; } = new long[n];
        public IntPtr[] Raw { get; } = new IntPtr[(slotCount + 1) * n];

        /// <summary>Takes ownership of the handles the shim wrote into null slots.</summary>
        public void AdoptNewSlots()
        {
            for (var s = 0; s < Slots.Length; s++)
                for (var i = 0; i < n; i++)
                {
                    var raw = Raw[(s + 1) * n + i];
                    if (Slots[s][i] is null && raw != IntPtr.Zero) Slots[s][i] = new Tensor(raw).DetachFromDisposeScope();
                }
        }

        public void Clear()
        {
            foreach (var slot in Slots)
                for (var i = 0; i < slot.Length; i++)
                {
                    slot[i]?.Dispose();
                    slot[i] = null;
                }
            Array.Clear(Steps);
        }
    }
}
