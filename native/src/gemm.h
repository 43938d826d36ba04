// Linear layers on oneDNN's sgemm (gemm.cpp) where the process has a shared oneDNN, on ATen otherwise.
#pragma once
#include <ATen/ATen.h>

namespace dt {
// The GEMM that serves float32 CPU products: "onednn" or "aten".
const char* gemm_backend();
// y = x·wᵀ + b over the last dim of x, differentiable (torch.nn.functional.linear).
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);
}  // namespace dt
