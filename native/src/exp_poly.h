// Cephes' expf polynomial (≤ 2 ulp over the clamped range), inlined so a whole activation stays in vector registers;
// shared by the activation kernels (kernels.cpp) and the fused norm kernels (norm_kernels.cpp). No ATen here.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace dt::kernels {
// Above 88 the result is +inf (so silu(−inf) is NaN and silu(−100) is −0, as in ATen); below −87, e^−87.
__attribute__((always_inline)) inline float exp_poly(float x_in) {
  const float x = x_in < -87.0f ? -87.0f : x_in > 88.0f ? 88.0f : x_in;  // NaN passes through
  const float t = x * 1.44269504088896341f;          // x / ln 2
  const float n = static_cast<float>(static_cast<int32_t>(t + (t >= 0 ? 0.5f : -0.5f)));
  float r = x - n * 0.693359375f;  // x − n·ln 2 in two parts (Cody–Waite), exact to float precision
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  // A product, not a branch on the result: GCC vectorises a select of constants but not of the two results.
  const float overflow = x_in > 88.0f ? std::numeric_limits<float>::infinity() : 1.0f;
  return e * scale * overflow;
}
}  // namespace dt::kernels
