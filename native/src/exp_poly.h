// Cephes' expf polynomial (≤ 2 ulp over the clamped range), inlined so a whole activation stays in vector registers;
// shared by the activation kernels (kernels.cpp) and the fused norm kernels (norm_kernels.cpp). No ATen here.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace dt::kernels {
// The constants of Cephes' expf, for this scalar form and for the AVX-512 one (norm_kernels_avx512.cpp): e^x = 2ⁿ·e^r with
// n = round(x·log2e) and r = x − n·ln2_hi − n·ln2_lo (ln 2 in two parts, Cody–Waite), and e^r ≈ 1 + r + r²·P(r), P of
// degree 5 with coefficients highest first.
namespace cephes_exp {
constexpr float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
constexpr float poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
}  // namespace cephes_exp

// Above 88 the result is +inf (so silu(−inf) is NaN and silu(−100) is −0, as in ATen); below −87, e^−87.
__attribute__((always_inline)) inline float exp_poly(float x_in) {
  // Two separate clamps and a rint: written as the nested select and a round-half-away-from-zero, GCC vectorised them
  // into ~20 mask-register operations per 16 lanes, and the whole exp ran at ~0.42 ns per element instead of ~0.27
  // (AVX-512, one thread). NaN passes through both clamps (a comparison with NaN is false).
  float x = 88.0f < x_in ? 88.0f : x_in;
  x = -87.0f > x ? -87.0f : x;
  const float n = __builtin_rintf(x * cephes_exp::log2e);  // round(x / ln 2), ties to even: |r| ≤ ln 2 / 2 either way
  float r = x - n * cephes_exp::ln2_hi;                      // x − n·ln 2 in two parts, exact to float precision
  r = r - n * cephes_exp::ln2_lo;
  float p = cephes_exp::poly[0];
  for (int k = 1; k < 6; ++k) p = p * r + cephes_exp::poly[k];
  const float e = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  // A product, not a branch on the result: GCC vectorises a select of constants but not of the two results.
  const float overflow = x_in > 88.0f ? std::numeric_limits<float>::infinity() : 1.0f;
  return e * scale * overflow;
}
}  // namespace dt::kernels
