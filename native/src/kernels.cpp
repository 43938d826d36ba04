// Hand-vectorised float32 kernels for the activations every score network runs on its largest tensors.
// No ATen here: plain loops that GCC vectorises (this file is built with -O3 and without the precompiled
// header, see CMakeLists.txt), cloned for AVX-512, AVX2 and a portable baseline, picked at load by the CPU.
// ATen's SiLU goes through Sleef's 1-ulp expf and TensorIterator; exp_poly (exp_poly.h) is Cephes' expf polynomial
// (≤ 2 ulp over the clamped range), inlined so the whole activation stays in vector registers.
#include "kernels.h"
#include "exp_poly.h"

namespace dt::kernels {

__attribute__((target_clones("avx512f", "avx2", "default")))
void silu_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + exp_poly(-x[i]));
}

// d silu/dx = s·(1 + x·(1 − s)), s = σ(x): recomputed from x rather than stored, as ATen does.
__attribute__((target_clones("avx512f", "avx2", "default")))
void silu_backward(const float* __restrict grad, const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + exp_poly(-x[i]));
    out[i] = grad[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

// GELU, tanh approximation: 0.5·x·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³) equals x·σ(2u), because
// 1 + tanh(u) = 2σ(2u) — the same shape as SiLU, so the same exp serves (ATen runs Sleef's tanh here).
namespace {
constexpr float two_k = 1.5957691216057308f;  // 2·√(2/π)
constexpr float cubic = 0.044715f;
}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default")))
void gelu_tanh_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = two_k * (x[i] + cubic * x[i] * x[i] * x[i]);
    y[i] = x[i] / (1.0f + exp_poly(-v));
  }
}

// d/dx x·σ(v) = s + x·s·(1 − s)·v′, s = σ(v), v′ = 2√(2/π)(1 + 3·0.044715x²).
__attribute__((target_clones("avx512f", "avx2", "default")))
void gelu_tanh_backward(const float* __restrict grad, const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x2 = x[i] * x[i];
    const float v = two_k * (x[i] + cubic * x2 * x[i]);
    const float dv = two_k * (1.0f + 3.0f * cubic * x2);
    const float s = 1.0f / (1.0f + exp_poly(-v));
    out[i] = grad[i] * (s + x[i] * s * (1.0f - s) * dv);
  }
}

}  // namespace dt::kernels
