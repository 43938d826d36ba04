// GroupNorm(→SiLU) on our kernels (group_norm.cpp): bfloat16 or float32 input, float32 statistics and γ, β, an
// optional fused SiLU, and the output in a requested type (bfloat16 for the bf16 path, so the next conv reads it
// without a cast). Autograd-aware.
#pragma once
#include <ATen/ATen.h>

namespace dt {
at::Tensor group_norm_fused(const at::Tensor& x, int64_t groups, const at::Tensor& weight, const at::Tensor& bias, double eps,
                            bool silu, at::ScalarType output_type);
}  // namespace dt
