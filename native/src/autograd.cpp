// Autograd: leaf flags, backward, gradients and the thread-local grad mode.
#include "shim.h"

#include <torch/csrc/autograd/autograd.h>

DT_API void dt_free(TensorH t);

DT_API int dt_requires_grad(TensorH t, int32_t* out) { DT_TRY(*out = t->requires_grad()) }
DT_API int dt_set_requires_grad(TensorH t, int32_t value) { DT_TRY(t->requires_grad_(value != 0)) }
// The version counter in-place writes bump (autograd's check of saved tensors, the Winograd weight cache).
DT_API int dt_tensor_version(TensorH t, int64_t* out) { DT_TRY(*out = t->_version()) }
DT_API int dt_is_leaf(TensorH t, int32_t* out) { DT_TRY(*out = t->is_leaf()) }
DT_API int dt_backward(TensorH t, TensorH grad, int32_t retain_graph) {
  DT_TRY(t->backward(dt::or_undefined(grad), retain_graph != 0))
}
// *out stays null when the tensor has no gradient yet.
DT_API int dt_grad(TensorH t, TensorH* out) {
  DT_TRY(const auto& g = t->grad(); *out = g.defined() ? dt::wrap(g) : nullptr)
}
DT_API int dt_set_grad(TensorH t, TensorH grad) { DT_TRY(t->mutable_grad() = dt::or_undefined(grad)) }
DT_API int dt_detach(TensorH t, TensorH* out) { DT_TRY(*out = dt::wrap(t->detach())) }
DT_API int dt_detach_(TensorH t) { DT_TRY(t->detach_()) }

DT_API int32_t dt_is_grad_enabled() { return at::GradMode::is_enabled(); }
DT_API void dt_set_grad_enabled(int32_t enabled) { at::GradMode::set_enabled(enabled != 0); }

// torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused): the gradients of
// sum_k <grad_outputs[k], outputs[k]> with respect to each input (a vector-Jacobian product), without touching .grad.
// grad_outputs may be null (all implicit: scalar outputs only) or hold null entries; retain_graph < 0 means
// "as create_graph" (PyTorch's default). results[i] is null for an unused input when allow_unused is set.
// Results are written only on success.
DT_API int dt_autograd_grad(const TensorH* outputs, int32_t n_outputs, const TensorH* inputs, int32_t n_inputs,
                            const TensorH* grad_outputs, int32_t retain_graph, int32_t create_graph,
                            int32_t allow_unused, TensorH* results) {
  DT_TRY(
    std::vector<at::Tensor> outs = dt::list(outputs, n_outputs);
    std::vector<at::Tensor> ins = dt::list(inputs, n_inputs);
    std::vector<at::Tensor> grads;
    if (grad_outputs) {
      grads.reserve(n_outputs);
      for (int32_t k = 0; k < n_outputs; k++) grads.push_back(dt::or_undefined(grad_outputs[k]));
    }
    c10::optional<bool> retain = retain_graph < 0 ? c10::nullopt : c10::optional<bool>(retain_graph != 0);
    auto g = torch::autograd::grad(outs, ins, grads, retain, create_graph != 0, allow_unused != 0);
    TORCH_CHECK(g.size() == static_cast<size_t>(n_inputs), "autograd.grad returned ", g.size(), " gradients for ", n_inputs, " inputs");
    std::vector<TensorH> wrapped(g.size(), nullptr);
    try {
      for (size_t i = 0; i < g.size(); i++) wrapped[i] = g[i].defined() ? dt::wrap(std::move(g[i])) : nullptr;
    } catch (...) {
      for (auto h : wrapped) dt_free(h);
      throw;
    }
    for (size_t i = 0; i < wrapped.size(); i++) results[i] = wrapped[i])
}
