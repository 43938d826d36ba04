// Raw activation kernels (kernels.cpp) on float32 or bfloat16 elements (bf16.h: raw bits, computed in float32);
// activations.cpp wraps them as autograd-aware ATen ops.
#pragma once
#include <cstdint>

namespace dt::kernels {
void silu_forward(const float* x, float* y, int64_t n);
void silu_backward(const float* grad, const float* x, float* out, int64_t n);
void gelu_tanh_forward(const float* x, float* y, int64_t n);
void gelu_tanh_backward(const float* grad, const float* x, float* out, int64_t n);

void silu_forward(const uint16_t* x, uint16_t* y, int64_t n);
void silu_backward(const uint16_t* grad, const uint16_t* x, uint16_t* out, int64_t n);
void gelu_tanh_forward(const uint16_t* x, uint16_t* y, int64_t n);
void gelu_tanh_backward(const uint16_t* grad, const uint16_t* x, uint16_t* out, int64_t n);
}  // namespace dt::kernels
