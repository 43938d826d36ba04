// bfloat16 loads and stores of 16 lanes in AVX-512 intrinsics, for the kernels compiled for AVX512-BF16 alone
// (norm_kernels_avx512.cpp, winograd_kernels.cpp, conv_weight_grad_kernels.cpp; CMakeLists.txt). A store rounds with
// vcvtneps2bf16: to nearest even, as bf16.h's narrow, except that values below bfloat16's normal range (|v| < 1.2e-38)
// become ±0. No ATen here.
#pragma once
#include "lanes.h"
#include <immintrin.h>
#include <cstdint>

namespace dt::kernels::avx512 {
// The first `count` lanes (all 16 when count ≥ 16).
inline __mmask16 first(int64_t count) { return count >= lanes ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1u); }

// 16 bfloat16 values widened; lanes outside k read as zero (and are not touched in memory).
inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  const __m256i bits = _mm256_maskz_loadu_epi16(k, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}

// The lanes in k rounded to bfloat16 and stored.
inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) {
  _mm256_mask_storeu_epi16(p, k, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
}
}  // namespace dt::kernels::avx512
