// Hand-vectorised kernels for the activations every score network runs on its largest tensors, on float32 and on
// bfloat16 elements (bf16.h: widened into a float32 chunk, computed, narrowed back).
// No ATen here: plain loops that GCC vectorises (this file is built with -O3 and without the precompiled
// header, see CMakeLists.txt), cloned for AVX-512, AVX2 and a portable baseline, picked at load by the CPU.
// ATen's SiLU goes through Sleef's 1-ulp expf and TensorIterator; exp_poly (exp_poly.h) is Cephes' expf polynomial
// (≤ 2 ulp over the clamped range), inlined so the whole activation stays in vector registers.
#include "kernels.h"
#include "bf16.h"
#include "exp_poly.h"

#define DT_ALWAYS_INLINE __attribute__((always_inline)) inline
#define DT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {
DT_ALWAYS_INLINE void silu_f(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + dt::kernels::exp_poly(-x[i]));
}

// d silu/dx = s·(1 + x·(1 − s)), s = σ(x): recomputed from x rather than stored, as ATen does.
DT_ALWAYS_INLINE void silu_b(const float* __restrict grad, const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + dt::kernels::exp_poly(-x[i]));
    out[i] = grad[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

// GELU, tanh approximation: 0.5·x·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³) equals x·σ(2u), because
// 1 + tanh(u) = 2σ(2u) — the same shape as SiLU, so the same exp serves (ATen runs Sleef's tanh here).
constexpr float two_k = 1.5957691216057308f;  // 2·√(2/π)
constexpr float cubic = 0.044715f;

DT_ALWAYS_INLINE void gelu_f(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = two_k * (x[i] + cubic * x[i] * x[i] * x[i]);
    y[i] = x[i] / (1.0f + dt::kernels::exp_poly(-v));
  }
}

// d/dx x·σ(v) = s + x·s·(1 − s)·v′, s = σ(v), v′ = 2√(2/π)(1 + 3·0.044715x²).
DT_ALWAYS_INLINE void gelu_b(const float* __restrict grad, const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x2 = x[i] * x[i];
    const float v = two_k * (x[i] + cubic * x2 * x[i]);
    const float dv = two_k * (1.0f + 3.0f * cubic * x2);
    const float s = 1.0f / (1.0f + dt::kernels::exp_poly(-v));
    out[i] = grad[i] * (s + x[i] * s * (1.0f - s) * dv);
  }
}

// bfloat16 through the float32 loops, an L1-sized chunk at a time: 16-bit loads and stores inside the exp loop made
// GCC's vectorised loop about twice as slow (norm_kernels.cpp).
constexpr int64_t chunk = 1024;

template <class Body>
DT_ALWAYS_INLINE void chunked(const uint16_t* x, uint16_t* y, int64_t n, Body body) {
  alignas(64) float in[chunk], out[chunk];
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = n - i < chunk ? n - i : chunk;
    dt::bf16::widen(x + i, in, m);
    body(in, out, m);
    dt::bf16::narrow(out, y + i, m);
  }
}

template <class Body>
DT_ALWAYS_INLINE void chunked(const uint16_t* grad, const uint16_t* x, uint16_t* y, int64_t n, Body body) {
  alignas(64) float g[chunk], in[chunk], out[chunk];
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = n - i < chunk ? n - i : chunk;
    dt::bf16::widen(grad + i, g, m);
    dt::bf16::widen(x + i, in, m);
    body(g, in, out, m);
    dt::bf16::narrow(out, y + i, m);
  }
}
}  // namespace

namespace dt::kernels {
DT_CLONES void silu_forward(const float* x, float* y, int64_t n) { silu_f(x, y, n); }
DT_CLONES void silu_backward(const float* grad, const float* x, float* out, int64_t n) { silu_b(grad, x, out, n); }
DT_CLONES void gelu_tanh_forward(const float* x, float* y, int64_t n) { gelu_f(x, y, n); }
DT_CLONES void gelu_tanh_backward(const float* grad, const float* x, float* out, int64_t n) { gelu_b(grad, x, out, n); }

DT_CLONES void silu_forward(const uint16_t* x, uint16_t* y, int64_t n) {
  chunked(x, y, n, [](const float* a, float* b, int64_t m) { silu_f(a, b, m); });
}
DT_CLONES void silu_backward(const uint16_t* grad, const uint16_t* x, uint16_t* out, int64_t n) {
  chunked(grad, x, out, n, [](const float* g, const float* a, float* b, int64_t m) { silu_b(g, a, b, m); });
}
DT_CLONES void gelu_tanh_forward(const uint16_t* x, uint16_t* y, int64_t n) {
  chunked(x, y, n, [](const float* a, float* b, int64_t m) { gelu_f(a, b, m); });
}
DT_CLONES void gelu_tanh_backward(const uint16_t* grad, const uint16_t* x, uint16_t* out, int64_t n) {
  chunked(grad, x, out, n, [](const float* g, const float* a, float* b, int64_t m) { gelu_b(g, a, b, m); });
}
}  // namespace dt::kernels

// Adam, fused (Kingma & Ba 2015, Algorithm 1, PyTorch's bias correction; optim.cpp has the op-by-op form): the same
// element operations in the same order as ATen's op chain — g (+ wd·p); m·β₁ + (1 − β₁)·g as add's fused multiply-add;
// v·β₂ + (1 − β₂)·g·g; √v / √(1 − β₂ᵗ) + ε; p + (−lr/(1 − β₁ᵗ))·(m / denom) — read and written once instead of
// through about ten ATen ops and their temporaries. Contraction into FMAs is off except where ATen's add uses one.
namespace {
__attribute__((optimize("fp-contract=off"))) DT_ALWAYS_INLINE void adam_f(float* __restrict p, const float* __restrict g,
                                                                          float* __restrict m, float* __restrict v,
                                                                          float* __restrict v_max, int64_t n,
                                                                          const dt::kernels::AdamScalars s) {
  for (int64_t i = 0; i < n; ++i) {
    float grad = s.maximize ? -g[i] : g[i];
    grad = s.weight_decay != 0.0f ? __builtin_fmaf(p[i], s.weight_decay, grad) : grad;
    const float param = s.decay != 1.0f ? p[i] * s.decay : p[i];
    const float m1 = __builtin_fmaf(grad, s.one_minus_beta1, m[i] * s.beta1);
    const float v1 = v[i] * s.beta2 + s.one_minus_beta2 * grad * grad;
    m[i] = m1;
    v[i] = v1;
    float second = v1;
    if (s.amsgrad) second = v_max[i] = v_max[i] > v1 ? v_max[i] : v1;
    const float denom = __builtin_sqrtf(second) / s.bias_correction2_sqrt + s.eps;
    p[i] = param + s.neg_step_size * (m1 / denom);
  }
}
}  // namespace

namespace dt::kernels {
DT_CLONES __attribute__((optimize("fp-contract=off"))) void adam_step(float* p, const float* g, float* m, float* v, float* v_max,
                                                                      int64_t n, const AdamScalars& s) {
  adam_f(p, g, m, v, v_max, n, s);
}
// ---- rows of channels (channel_add.cpp) ----
DT_CLONES void add_row_to_rows(const float* __restrict x, const float* __restrict e, float* __restrict y, int64_t rows, int64_t channels) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) y[r * channels + c] = x[r * channels + c] + e[c];
}
DT_CLONES void add_row_to_rows(const uint16_t* __restrict x, const uint16_t* __restrict e, uint16_t* __restrict y, int64_t rows,
                               int64_t channels) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) y[r * channels + c] = dt::bf16::narrow(dt::bf16::widen(x[r * channels + c]) + dt::bf16::widen(e[c]));
}
DT_CLONES void sum_rows(const float* __restrict dy, float* __restrict total, int64_t rows, int64_t channels) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) total[c] += dy[r * channels + c];
}
DT_CLONES void sum_rows(const uint16_t* __restrict dy, float* __restrict total, int64_t rows, int64_t channels) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) total[c] += dt::bf16::widen(dy[r * channels + c]);
}
}  // namespace dt::kernels
