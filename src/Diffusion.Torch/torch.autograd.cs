using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

public static partial class torch
{
    /// <summary>Functional autograd (PyTorch's <c>torch.autograd</c>).</summary>
    public static class autograd
    {
        /// <summary>
        /// <c>torch.autograd.grad</c> (libtorch's <c>torch::autograd::grad</c>): the gradient of Σₖ⟨gradOutputs[k], outputs[k]⟩
        /// with respect to each input — a vector–Jacobian product vᵀ∂y/∂x — returned as new tensors; no input's
        /// <see cref="Tensor.grad"/> is touched. <paramref name="gradOutputs"/> may be omitted (or hold nulls) only for scalar
        /// outputs, where it is 1. <paramref name="retainGraph"/> defaults to <paramref name="createGraph"/>, as in PyTorch;
        /// with <paramref name="createGraph"/> the result is itself differentiable. Every input must require grad and be
        /// used by the outputs (PyTorch's <c>allow_unused=False</c>); a violation, or a grad_output whose shape differs
        /// from its output's, is a <see cref="TorchException"/>.
        /// </summary>
        public static unsafe Tensor[] grad(Tensor[] outputs, Tensor[] inputs, Tensor?[]? gradOutputs = null,
            bool? retainGraph = null, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(outputs);
            ArgumentNullException.ThrowIfNull(inputs);
            if (outputs.Length == 0) throw new ArgumentException("autograd.grad needs at least one output", nameof(outputs));
            if (inputs.Length == 0) throw new ArgumentException("autograd.grad needs at least one input", nameof(inputs));
            if (gradOutputs is not null && gradOutputs.Length != outputs.Length)
                throw new ArgumentException($"autograd.grad: {gradOutputs.Length} grad_outputs for {outputs.Length} outputs", nameof(gradOutputs));
            var raw = new IntPtr[outputs.Length + inputs.Length + (gradOutputs?.Length ?? 0)];
            var results = new IntPtr[inputs.Length];
            var pins = new HandlePins();
            try
            {
                pins.Pin(outputs, raw, 0);
                pins.Pin(inputs, raw, outputs.Length);
                if (gradOutputs is not null) pins.Pin(gradOutputs, raw, outputs.Length + inputs.Length);
                int status;
                fixed (IntPtr* p = raw)
                fixed (IntPtr* r = results)
                {
                    status = dt_autograd_grad(p, outputs.Length, p + outputs.Length, inputs.Length,
                        gradOutputs is null ? null : p + outputs.Length + inputs.Length,
                        retainGraph is { } retain ? (retain ? 1 : 0) : -1, createGraph ? 1 : 0, 0, r);
                }
                if (status != 0) Tensor.Throw(status, "autograd.grad", [.. outputs, .. inputs, .. gradOutputs ?? []]);
            }
            finally
            {
                pins.Release();
            }
            return results.Select(h => new Tensor(h)).ToArray();
        }

        /// <summary>The one-output, one-input form of <see cref="grad(Tensor[], Tensor[], Tensor?[], bool?, bool)"/>: vᵀ∂y/∂x.</summary>
        public static Tensor grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false) =>
            grad([output], [input], gradOutput is null ? null : [gradOutput], retainGraph, createGraph)[0];
    }
}
