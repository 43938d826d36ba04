// Raw float32 kernels (kernels.cpp); activations.cpp wraps them as autograd-aware ATen ops.
#pragma once
#include <cstdint>

namespace dt::kernels {
void silu_forward(const float* x, float* y, int64_t n);
void silu_backward(const float* grad, const float* x, float* out, int64_t n);
void gelu_tanh_forward(const float* x, float* y, int64_t n);
void gelu_tanh_backward(const float* grad, const float* x, float* out, int64_t n);
}  // namespace dt::kernels
