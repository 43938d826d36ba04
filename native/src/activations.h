// Activations with our own kernels on the hot path (activations.cpp).
#pragma once
#include <ATen/ATen.h>

namespace dt {
// SiLU: the vectorised kernels for float32 CPU tensors (autograd-aware); ATen's silu for anything else.
at::Tensor silu(const at::Tensor& x);
}  // namespace dt
