using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>A parameter (or buffer) with its dotted PyTorch/diffusers name, e.g. <c>conv1.weight</c>.</summary>
public readonly record struct NamedTensor(string Name, Tensor Tensor);

/// <summary>
/// An immutable record of parameter tensors. Children enumerate their tensors under stable dotted
/// names matching PyTorch's <c>state_dict()</c> (so safetensors weights can be loaded by name);
/// disposing frees the native memory of every tensor it holds.
/// Parameters are created outside any dispose scope: their owner disposes them.
/// </summary>
public abstract record Params : IDisposable
{
    /// <summary>Every tensor in state_dict order (buffers such as running statistics included).</summary>
    public abstract IEnumerable<NamedTensor> Named();

    /// <summary>The tensors an optimizer should update: those that require gradients.</summary>
    public IEnumerable<Tensor> Trainable() => Named().Select(n => n.Tensor).Where(t => t.requires_grad);

    /// <summary>Number of scalar entries, as torchinfo's "Param #".</summary>
    public long Count() => Named().Sum(p => p.Tensor.numel());

    /// <summary>Marks every trainable tensor as requiring gradients (frozen ones, e.g. Fourier frequencies, stay off).</summary>
    public virtual Params RequiresGrad(bool on = true)
    {
        foreach (var p in Named()) p.Tensor.requires_grad = on;
        return this;
    }

    public void Dispose()
    {
        foreach (var p in Named()) p.Tensor.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The named tensor, or nothing when absent (e.g. a bias that is switched off).</summary>
    protected static IEnumerable<NamedTensor> One(string name, Tensor? t) => t is null ? [] : [new NamedTensor(name, t)];

    /// <summary>A child's tensors under <paramref name="prefix"/>.</summary>
    protected static IEnumerable<NamedTensor> Sub(string prefix, Params? child) =>
        child is null ? [] : child.Named().Select(n => n with { Name = $"{prefix}.{n.Name}" });
}
