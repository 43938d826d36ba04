// bfloat16 linear layers' three matrix products on oneDNN's matmul directly (linear_bf16.cpp); gemm.cpp's autograd
// function calls them. Needs the shim built with oneDNN's headers (available()).
#pragma once
#include <ATen/ATen.h>

namespace dt::linear_bf16 {
bool available();
// x (m, k) · wᵀ + b → (m, n), for w (n, k) and b (n) or undefined; all bfloat16 and contiguous.
at::Tensor forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);
// dy (m, n) · w (n, k) → dx (m, k).
at::Tensor input_gradient(const at::Tensor& dy, const at::Tensor& w);
// dyᵀ (n, m) · x (m, k) → dw (n, k), accumulated in float32 and rounded once.
at::Tensor weight_gradient(const at::Tensor& dy, const at::Tensor& x);
}  // namespace dt::linear_bf16
