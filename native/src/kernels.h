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

// Rows of `channels` contiguous elements (a channels-last activation's positions), channel_add.cpp's loops:
// y[r, c] = x[r, c] + e[c] (one rounding of the float32 sum), and total[c] += Σ_r dy[r, c] in float32.
void add_row_to_rows(const float* x, const float* e, float* y, int64_t rows, int64_t channels);
void add_row_to_rows(const uint16_t* x, const uint16_t* e, uint16_t* y, int64_t rows, int64_t channels);
void sum_rows(const float* dy, float* total, int64_t rows, int64_t channels);
void sum_rows(const uint16_t* dy, float* total, int64_t rows, int64_t channels);

// One Adam/AdamW step's constants, as float32 (what ATen's ops round the double hyperparameters to).
struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float bias_correction2_sqrt, eps, neg_step_size;
  float weight_decay;  // Adam's L2 term (g += wd·p); 0 for none
  float decay;         // AdamW's p *= 1 − lr·wd; 1 for none
  bool maximize, amsgrad;
};

// Adam over n float32 elements in one pass (optim.cpp's fused path): p, m, v (and v_max with amsgrad) in place.
void adam_step(float* p, const float* g, float* m, float* v, float* v_max, int64_t n, const AdamScalars& s);
}  // namespace dt::kernels
