using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>A parameter (or buffer) with its dotted PyTorch/diffusers name, e.g. <c>conv1.weight</c>.</summary>
public readonly record struct NamedTensor(string Name, Tensor Tensor);

/// <summary>
/// The immutable parameter tree of a module: path → tensor, shaped like the <see cref="Module"/> it was drawn from
/// (<see cref="Init"/>), so the names, their order (PyTorch's state_dict order: a module's own tensors, then each
/// child's) and which tensors are frozen all come from that one declaration. A forward reads its own tensors by name
/// (<c>w["weight"]</c>) and hands each child its subtree (<c>w[plan.Conv1]</c>). Disposing frees every tensor.
/// A view <see cref="In"/> a <see cref="Diffusion.Primitives.Precision"/> shares the tensors and adds the compute-type
/// copies the matmul-shaped layers read through <see cref="Compute"/>; disposing a view frees only those copies.
/// </summary>
public sealed class Params : IDisposable
{
    private readonly IReadOnlyList<(ParamSpec Spec, Tensor Tensor)> own;
    private readonly IReadOnlyDictionary<string, Params> children;
    private readonly IReadOnlyList<string> order;
    private readonly CastCache? casts; // null: this tree owns its tensors; else a view sharing them

    private Params(IReadOnlyList<(ParamSpec, Tensor)> own, IReadOnlyList<(string Name, Params Tree)> children,
        Precision precision = Precision.FP32, CastCache? casts = null)
    {
        this.own = own;
        this.children = children.ToDictionary(c => c.Name, c => c.Tree);
        order = children.Select(c => c.Name).ToList();
        Precision = precision;
        this.casts = casts;
    }

    /// <summary>The precision the matmul-shaped layers reading this tree compute in (float32 for a tree that owns its tensors).</summary>
    public Precision Precision { get; }

    /// <summary>
    /// A view of the same tensors in which <see cref="Compute"/> gives each tensor in <paramref name="precision"/>'s compute
    /// type, cast on first use and then reused for the view's life: one cast per weight per training step (a view per
    /// step, made after the optimizer moved the masters) or per sampling run, not one per use. The cast is differentiable,
    /// so gradients reach the float32 masters as float32. Dispose the view (not the tree) to free the copies.
    /// </summary>
    public Params In(Precision precision) => View(precision, new CastCache(precision.ComputeType()));

    private Params View(Precision precision, CastCache cache) =>
        new(own, order.Select(n => (n, children[n].View(precision, cache))).ToList(), precision, cache);

    /// <summary>A tensor this module owns, in the compute type of this view (the tensor itself in float32).</summary>
    public Tensor Compute(string name) => Cast(this[name]);

    /// <summary>
    /// <see cref="Compute"/> with the compute-type copy stored in <paramref name="layout"/> (the tensor itself in float32):
    /// a bf16 2-D convolution's weight channels-last, which ATen's channels-last convolution would otherwise copy into
    /// that layout on every call, forward and backward (42 copies, 2.6 ms of a unet28 bf16 step).
    /// </summary>
    public Tensor Compute(string name, MemoryFormat layout) => Cast(this[name], layout);

    /// <summary><see cref="Compute"/> of an optional tensor (a bias that may be switched off).</summary>
    public Tensor? ComputeOptional(string name) => Optional(name) is { } t ? Cast(t) : null;

    /// <summary>An activation entering a matmul-shaped layer, in this view's compute type (itself in float32).</summary>
    public Tensor ComputeInput(Tensor x) => Precision == Precision.FP32 || x.dtype == Precision.ComputeType() ? x : x.to(Precision.ComputeType());

    private Tensor Cast(Tensor t, MemoryFormat? layout = null) => casts is null || Precision == Precision.FP32 ? t : casts.Of(t, layout);

    /// <summary>
    /// Draws every tensor of <paramref name="module"/> in declaration order from <paramref name="g"/>; trainable ones
    /// require gradients, frozen ones and buffers do not. Tensors live outside any dispose scope: this tree owns them.
    /// </summary>
    public static Params Init(Module module, Generator g) => From(module, (_, p) =>
    {
        var t = p.Fill.Draw(p.Shape, g);
        t.requires_grad = p.Kind == ParamKind.Trainable;
        return t;
    });

    /// <summary>
    /// A tree shaped like <paramref name="module"/> whose tensors come from <paramref name="tensor"/> (given each tensor's
    /// state_dict path and spec), in declaration order — e.g. weights read from a file. The tree owns what it is given.
    /// </summary>
    public static Params From(Module module, Func<string, ParamSpec, Tensor> tensor, string prefix = "") => new(
        module.Own.Select(p => (p, tensor(p.Name.Length == 0 ? prefix : Rules.Child(prefix, p.Name), p))).ToList(),
        module.Children.Select(c => (c.Name, From(c, tensor, Rules.Child(prefix, c.Name)))).ToList());

    /// <summary>A tensor this module owns.</summary>
    public Tensor this[string name] =>
        Optional(name) ?? throw new KeyNotFoundException($"no tensor '{name}' here (have: {string.Join(", ", own.Select(o => o.Spec.Name))})");

    /// <summary>The subtree of a child declared by its parent.</summary>
    public Params this[IDeclared child] => Child(child.Module.Name);

    /// <summary>A bare tensor child (<see cref="Module.Tensor"/>), e.g. a position table.</summary>
    public Tensor Bare(IDeclared child) => this[child][""];

    public Params Child(string name) =>
        children.TryGetValue(name, out var c) ? c : throw new KeyNotFoundException($"no child module '{name}' here (have: {string.Join(", ", order)})");

    /// <summary>The tensor, or null when the module does not declare it (a bias that is switched off).</summary>
    public Tensor? Optional(string name) => own.FirstOrDefault(o => o.Spec.Name == name).Tensor;

    /// <summary>Every tensor in state_dict order (buffers such as running statistics included).</summary>
    public IEnumerable<NamedTensor> Named() => Walk("").Select(x => new NamedTensor(x.Path, x.Tensor));

    /// <summary>The tensors an optimizer should update: neither frozen nor buffers.</summary>
    public IEnumerable<Tensor> Trainable() => Walk("").Where(x => x.Kind == ParamKind.Trainable).Select(x => x.Tensor);

    /// <summary>Number of scalar entries of every tensor, as torchinfo's "Param #" plus buffers.</summary>
    public long Count() => Named().Sum(p => p.Tensor.numel());

    public void Dispose()
    {
        if (casts is not null) casts.Dispose();
        else foreach (var p in Named()) p.Tensor.Dispose();
    }

    /// <summary>The compute-type copies of one view, keyed by the master tensor and layout, owned by the view.</summary>
    private sealed class CastCache(ScalarType type) : IDisposable
    {
        private readonly Dictionary<Tensor, Tensor> copies = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Tensor, Tensor> laidOut = new(ReferenceEqualityComparer.Instance); // one layout per weight

        public Tensor Of(Tensor master, MemoryFormat? layout = null)
        {
            if (!master.dtype.IsFloatingPoint() || master.dtype == type) return master;
            var cache = layout is null ? copies : laidOut;
            if (!cache.TryGetValue(master, out var copy))
            {
                using var scope = torch.NewDisposeScope();
                var cast = master.to(type);                                   // differentiable: gradients reach the master
                cache[master] = copy = (layout is { } f ? cast.contiguous(f) : cast).DetachFromDisposeScope();
            }
            return copy;
        }

        public void Dispose()
        {
            foreach (var c in copies.Values.Concat(laidOut.Values)) c.Dispose();
            copies.Clear();
            laidOut.Clear();
        }
    }

    private IEnumerable<(string Path, Tensor Tensor, ParamKind Kind)> Walk(string prefix) =>
        own.Select(o => (o.Spec.Name.Length == 0 ? prefix : Rules.Child(prefix, o.Spec.Name), o.Tensor, o.Spec.Kind))
            .Concat(order.SelectMany(n => children[n].Walk(Rules.Child(prefix, n))));
}
