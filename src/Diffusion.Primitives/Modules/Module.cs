namespace Diffusion.Primitives;

/// <summary>
/// A node of a model's module tree, declared once by the block that owns it: its name under its parent (dots allowed,
/// e.g. <c>resnets.0</c>, <c>to_out.0</c>), its type, its per-sample output shape, the parameters it holds itself, the
/// multiply-accumulates it does itself (e.g. attention's two matmuls), and its children. Everything else is derived from
/// this one declaration by generic code: parameter counts, <see cref="Params.Init"/> (state_dict names and order, which
/// tensors are frozen), the summary rows — without allocating a weight.
/// </summary>
public sealed record Module(string Name, string Type, long[] Shape, IReadOnlyList<ParamSpec> Own, IReadOnlyList<Module> Children, long OwnMacs = 0) : IDeclared
{
    Module IDeclared.Module => this;

    /// <summary>Parameters at or under this node, frozen ones included (PyTorch's <c>sum(p.numel() for p in parameters())</c>); buffers excluded.</summary>
    public long ParameterCount => checked(Own.Where(p => p.Kind != ParamKind.Buffer).Sum(p => p.Count) + Children.Sum(c => c.ParameterCount));

    /// <summary>Parameters an optimizer updates.</summary>
    public long TrainableCount => Own.Where(p => p.Kind == ParamKind.Trainable).Sum(p => p.Count) + Children.Sum(c => c.TrainableCount);

    /// <summary>Multiply-accumulates per sample at or under this node.</summary>
    public long Macs => checked(OwnMacs + Children.Sum(c => c.Macs)); // checked: a total past 2⁶³ is an OverflowException, never a wrapped count

    /// <summary>A node that only groups its children (a stage, an attention, a time MLP).</summary>
    public static Module Group(string name, string type, long[] shape, IEnumerable<Module?> children, long ownMacs = 0) =>
        new(name, type, shape, [], children.OfType<Module>().ToList(), ownMacs);

    /// <summary>A parameter-free layer: an activation, a non-affine norm, a reshape.</summary>
    public static Module Op(string name, string type, long[] shape, long macs = 0) => new(name, type, shape, [], [], macs);

    /// <summary>A layer holding its own tensors (a linear, a conv, a norm, a table).</summary>
    public static Module Leaf(string name, string type, long[] shape, long macs, params ParamSpec?[] own) =>
        new(name, type, shape, own.OfType<ParamSpec>().ToList(), [], macs);

    /// <summary>
    /// A bare tensor attribute of its parent (<c>self.pos_embed = nn.Parameter(...)</c>), named <paramref name="name"/>, of
    /// <paramref name="tensorShape"/>; its summary row shows the per-sample <paramref name="shape"/>.
    /// </summary>
    public static Module Tensor(string name, string type, long[] shape, long[] tensorShape, Fill fill, ParamKind kind = ParamKind.Trainable) =>
        Leaf(name, type, shape, 0, new ParamSpec("", tensorShape, fill, kind));

    /// <summary>Pre-order rows: this node at depth 0 with an empty path, children's paths dotted below it.</summary>
    public IReadOnlyList<LayerInfo> Flatten()
    {
        var rows = new List<LayerInfo>();
        Walk(this, "", 0, rows);
        return rows;
    }

    private static void Walk(Module m, string path, int depth, List<LayerInfo> rows)
    {
        rows.Add(new LayerInfo(path, m.Type, depth, m.Shape, m.ParameterCount, m.TrainableCount, m.Macs));
        foreach (var c in m.Children) Walk(c, Rules.Child(path, c.Name), depth + 1, rows);
    }
}

/// <summary>
/// One summary row: hierarchical path, layer type, nesting depth (0 for the model), per-sample output shape, parameters
/// and trainable parameters at or under it, and multiply-accumulates per sample.
/// </summary>
public sealed record LayerInfo(string Path, string Type, int Depth, long[] OutputShape, long Params, long TrainableParams, long Macs);

/// <summary>Anything with a declared module: a leaf layer or a block plan. Its parameters are <c>parent[this]</c>.</summary>
public interface IDeclared
{
    Module Module { get; }
}

/// <summary>A leaf layer as its parent declared it: the spec its forward needs, and its module (name, shape, tensors).</summary>
public sealed record Leaf<TSpec>(TSpec Spec, Module Module) : IDeclared;
