namespace Diffusion.Architectures;

/// <summary>
/// A node of a model's layer tree, built from plans alone (no tensors): its name under its parent, type,
/// per-sample output shape, its own parameters and multiply-accumulates (those not in a child, e.g. an
/// attention's two matmuls or a position table), and children. <see cref="Flatten"/> turns it into
/// <see cref="LayerInfo"/> rows whose params and MACs include every descendant.
/// </summary>
public sealed record LayerNode(string Name, string Type, long[] Shape, long OwnParams = 0, long OwnMacs = 0, bool Trainable = true,
    IReadOnlyList<LayerNode>? Children = null)
{
    public IReadOnlyList<LayerNode> Kids => Children ?? [];

    public long Params => OwnParams + Kids.Sum(k => k.Params);

    public long Macs => OwnMacs + Kids.Sum(k => k.Macs);

    /// <summary>Any trainable parameter at or under this node.</summary>
    public bool AnyTrainable => (OwnParams > 0 && Trainable) || Kids.Any(k => k.AnyTrainable);

    /// <summary>A Linear over <paramref name="tokens"/> positions: in·out (+ out) params, tokens·in·out MACs.</summary>
    public static LayerNode Linear(string name, int @in, int @out, long tokens = 1, bool bias = true) =>
        new(name, "Linear", tokens == 1 ? [@out] : [tokens, @out], (long)@in * @out + (bias ? @out : 0), tokens * @in * @out);

    /// <summary>A parameter-free layer (activation, non-affine norm, reshape).</summary>
    public static LayerNode Op(string name, string type, long[] shape) => new(name, type, shape, Trainable: false);

    /// <summary>Pre-order rows: the root at depth 0 with an empty path, children's paths dotted below it.</summary>
    public IReadOnlyList<LayerInfo> Flatten()
    {
        var rows = new List<LayerInfo>();
        Walk(this, "", 0, rows);
        return rows;
    }

    private static void Walk(LayerNode n, string path, int depth, List<LayerInfo> rows)
    {
        rows.Add(new LayerInfo(path, n.Type, depth, n.Shape, n.Params, n.AnyTrainable, n.Macs));
        foreach (var k in n.Kids) Walk(k, path.Length == 0 ? k.Name : $"{path}.{k.Name}", depth + 1, rows);
    }
}

/// <summary>A config whose layer tree (and so its parameter count) is known without allocating weights.</summary>
public interface IHasLayerPlan
{
    /// <summary>The layer tree of a valid config; throws <see cref="Primitives.ConfigException"/> when invalid.</summary>
    LayerNode LayerPlan();
}
