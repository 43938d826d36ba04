namespace Diffusion.Torch;

/// <summary>
/// Frees every tensor created on this thread while the scope is the innermost one, when the scope
/// is disposed — except tensors moved out (<see cref="MoveToOuter{T}"/>) or detached from it.
/// Scopes nest; this is what keeps long loops at flat native memory without waiting for the GC.
/// <code>
/// using (var scope = torch.NewDisposeScope()) { var loss = …; loss.backward(); }
/// </code>
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly DisposeScope? outer;
    private readonly Thread owner = Thread.CurrentThread;
    private List<Tensor> tensors = new();
    private bool disposed;

    internal DisposeScope()
    {
        outer = current;
        current = this;
    }

    internal static DisposeScope? Current => current;

    /// <summary>Tensors this scope still owns.</summary>
    public int Count => tensors.Count(t => t.Scope == this);

    internal void Add(Tensor t)
    {
        tensors.Add(t);
        t.Scope = this;
    }

    /// <summary>Hands a tensor to the enclosing scope (or to no scope when this is the outermost).</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (tensor.Scope != this) throw new InvalidOperationException("the tensor is not owned by this dispose scope");
        tensor.Scope = null;
        outer?.Add(tensor);
        return tensor;
    }

    public void MoveToOuter(params Tensor[] ts)
    {
        foreach (var t in ts) MoveToOuter(t);
    }

    /// <summary>Takes a tensor out of every scope: its owner must dispose it.</summary>
    public Tensor Detach(Tensor tensor)
    {
        if (tensor.Scope == this) tensor.Scope = null;
        return tensor;
    }

    public void Dispose()
    {
        if (disposed) return;
        if (Thread.CurrentThread != owner) throw new InvalidOperationException("a dispose scope must be disposed on the thread that created it");
        if (current != this) throw new InvalidOperationException("dispose scopes must be disposed innermost first");
        disposed = true;
        current = outer;
        foreach (var t in tensors)
            if (t.Scope == this)
            {
                t.Scope = null;
                t.Dispose();
            }
        tensors = new();
    }
}
