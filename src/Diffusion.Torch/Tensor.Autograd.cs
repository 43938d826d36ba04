using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Autograd: gradients are recorded for tensors that require them, outside no_grad scopes.
public sealed partial class Tensor
{
    public bool requires_grad
    {
        get
        {
            Check(dt_requires_grad(Handle, out var v), "requires_grad", this);
            return v != 0;
        }
        set => Check(dt_set_requires_grad(Handle, value ? 1 : 0), "requires_grad_", this);
    }

    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    /// <summary>
    /// The version counter, as PyTorch's <c>Tensor._version</c>: every in-place write bumps it (ATen's in-place ops, and
    /// the shim's own kernels that write through raw pointers, such as the fused Adam step). Autograd compares it to
    /// detect tensors changed after being saved for backward; caches keyed on a tensor use it to see changes.
    /// </summary>
    public long _version
    {
        get
        {
            Check(dt_tensor_version(Handle, out var v), "_version", this);
            return v;
        }
    }

    public bool is_leaf
    {
        get
        {
            Check(dt_is_leaf(Handle, out var v), "is_leaf", this);
            return v != 0;
        }
    }

    /// <summary>Accumulates d(this)/d(leaf) into every leaf's <see cref="grad"/>; <paramref name="gradient"/> is needed for non-scalars.</summary>
    public void backward(Tensor? gradient = null, bool retainGraph = false) =>
        Check(dt_backward(Handle, gradient?.Handle ?? NullTensor, retainGraph ? 1 : 0), "backward", this, gradient);

    /// <summary>The accumulated gradient, or null before the first backward. Each read is a new handle (owned by the current scope).</summary>
    public Tensor? grad
    {
        get
        {
            Check(dt_grad(Handle, out var g), "grad", this);
            return g == IntPtr.Zero ? null : new Tensor(g);
        }
        set => Check(dt_set_grad(Handle, value?.Handle ?? NullTensor), "grad", this, value);
    }

    /// <summary>Drops the gradient (PyTorch's <c>set_to_none=True</c>).</summary>
    public void zero_grad() => grad = null;

    public Tensor detach() => Wrap(dt_detach(Handle, out var r), r, "detach", this);

    public Tensor detach_()
    {
        Check(dt_detach_(Handle), "detach_", this);
        return this;
    }

    /// <summary>Passed where the shim takes an optional tensor.</summary>
    internal static readonly TensorHandle NullTensor = new(IntPtr.Zero);
}
