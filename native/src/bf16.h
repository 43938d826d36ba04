// bfloat16 as raw bits (uint16_t), for the shim's kernels: a bfloat16 is the high half of a float32, so widening is a
// 16-bit shift and narrowing rounds to nearest even (NaN kept quiet) — what ATen's c10::BFloat16 does, in a form GCC
// vectorises. No ATen here.
#pragma once
#include <cstdint>
#include <cstring>

namespace dt::bf16 {
__attribute__((always_inline)) inline float widen(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

__attribute__((always_inline)) inline uint16_t narrow(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;  // round to nearest, ties to even
  return static_cast<uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? (bits >> 16) | 0x40u : rounded);
}

// Element access generic over the two element types (float32, or bfloat16 as raw bits), for kernels templated on it.
__attribute__((always_inline)) inline float as_float(float v) { return v; }
__attribute__((always_inline)) inline float as_float(uint16_t v) { return widen(v); }
__attribute__((always_inline)) inline void store(float* p, float v) { *p = v; }
__attribute__((always_inline)) inline void store(uint16_t* p, float v) { *p = narrow(v); }

// Whole arrays, for the kernels that widen a chunk, compute in float32 and narrow the result.
__attribute__((always_inline)) inline void widen(const uint16_t* __restrict p, float* __restrict f, int64_t n) {
  for (int64_t i = 0; i < n; ++i) f[i] = widen(p[i]);
}

__attribute__((always_inline)) inline void narrow(const float* __restrict f, uint16_t* __restrict p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = narrow(f[i]);
}
}  // namespace dt::bf16
