// Autograd: leaf flags, backward, gradients and the thread-local grad mode.
#include "shim.h"

DT_API int dt_requires_grad(TensorH t, int32_t* out) { DT_TRY(*out = t->requires_grad()) }
DT_API int dt_set_requires_grad(TensorH t, int32_t value) { DT_TRY(t->requires_grad_(value != 0)) }
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
