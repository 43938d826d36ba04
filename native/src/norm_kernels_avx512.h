// The bfloat16 inner loops of the fused GroupNorm(→SiLU) in AVX-512 intrinsics (norm_kernels_avx512.cpp), called by
// norm_kernels.cpp's channels-last kernels when available(). Each runs over n elements of one tile, with per-element
// center m, scale a and shift b (a tile's repeated per-channel coefficients). No ATen here.
#pragma once
#include <cstdint>

namespace dt::kernels::avx512 {
// The CPU has AVX512-F, -BW, -VL and -BF16 (what this header's kernels, winograd_kernels.h's and
// conv_weight_grad_kernels.h's are compiled for).
bool supported();
// supported(), and the loops are not switched off (set_enabled). Both are defined in norm_kernels.cpp, which is compiled
// for any x86-64, unlike this header's kernels.
bool available();
// On by default; off runs the generic loops on any CPU (torch.set_norm_intrinsics, for tests and comparisons).
void set_enabled(bool on);

// y = act((x − m)·a + b), act SiLU or the identity.
void normalize(const uint16_t* x, uint16_t* y, int64_t n, const float* m, const float* a, const float* b, bool silu);

// dz = dy·act′((x − m)·a + b); acc_s += dz·(x − m); acc_b += dz (per element, the tile's sums).
void backward_sums(const uint16_t* dy, const uint16_t* x, float* dz, int64_t n, const float* m, const float* a, const float* b, bool silu,
                   float* acc_s, float* acc_b);

// dx = a·dz + b·(x − m) + c.
void backward_dx(const float* dz, const uint16_t* x, uint16_t* dx, int64_t n, const float* m, const float* a, const float* b, const float* c);
}  // namespace dt::kernels::avx512
