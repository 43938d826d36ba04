// Sums over 16 float lanes, for the vectorised kernels (norm_kernels.cpp, conv_narrow_kernels.cpp): GCC turns a fixed-width
// inner loop over an accumulator array into one vector register, where it may not reorder a plain running float sum.
// No ATen here.
#pragma once
#include <cstdint>

namespace dt::kernels {
constexpr int64_t lanes = 16;

// The lanes of a sum accumulator folded pairwise.
__attribute__((always_inline)) inline float fold(float* acc) {
  for (int64_t w = lanes / 2; w > 0; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// Runs step(i, lane) for i in [0, n): whole blocks of `lanes`, then the tail in the first lanes.
template <class Step>
__attribute__((always_inline)) inline void in_lanes(int64_t n, Step step) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int64_t j = 0; j < lanes; ++j) step(i + j, j);
  for (int64_t j = 0; i + j < n; ++j) step(i + j, j);
}
}  // namespace dt::kernels
