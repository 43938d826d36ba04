// Activations with our own kernels on the hot path (activations.cpp): the vectorised kernels for float32 CPU
// tensors (autograd-aware), ATen's op for anything else.
#pragma once
#include <ATen/ATen.h>

namespace dt {
at::Tensor silu(const at::Tensor& x);
at::Tensor gelu_tanh(const at::Tensor& x);
}  // namespace dt
