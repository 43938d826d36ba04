// The Winograd F(2×2, 3×3) transforms (winograd_kernels.h) in AVX-512 intrinsics, for CPUs with AVX512-BF16 (Zen 4/5,
// Sapphire Rapids): compiled for that ISA alone (CMakeLists.txt) and called only where conv_winograd_applies found it
// (the direct convolution serves every other CPU, where bf16 has no fast products to gain from anyway). Channels,
// contiguous in channels-last data, are the vector lanes, 16 at a time; the 16 points of a patch stay in registers.
// Why not GCC's vectorised loops, as in kernels.cpp: written with its vector extension (the first version) the input
// transform spilled its points to the stack and narrowed each vector to bfloat16 in ~8 integer operations, and took
// 17.6–25.7 ms per DDPM forward; here a narrowing is one vcvtneps2bf16 (bf16_avx512.h).
// Transform matrices (Lavin & Gray 2016, section 4.1, F(2, 3)):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Bᵀ and Aᵀ only add and subtract, so the input and output transforms are exact in float32 up to their one rounding.
// No ATen here.
#include "winograd_kernels.h"
#include "bf16.h"
#include "bf16_avx512.h"
#include "lanes.h"
#include <immintrin.h>
#include <algorithm>
#include <vector>

namespace dt::kernels::winograd {
namespace {
using dt::kernels::lanes;
using avx512::load_bf16;
using avx512::store_bf16;

// One tile's position: image, first output row and column.
struct Tile {
  int64_t image, row, col;
};
Tile tile_at(const Tiling& g, int64_t t) {
  const int64_t per_image = g.tile_rows() * g.tile_cols(), i = t % per_image;
  return {t / per_image, 2 * (i / g.tile_cols()), 2 * (i % g.tile_cols())};
}


// The 16 points of one tile's patch, (Bᵀ d B), for the 16 channels at d[i] + ch (`valid` of them), into out[p·plane].
__attribute__((always_inline)) inline void input_block(const uint16_t* const* d, int64_t ch, __mmask16 valid, uint16_t* out,
                                                       int64_t plane) {
  __m512 p[points];
  for (int64_t i = 0; i < points; ++i) p[i] = load_bf16(d[i] + ch, valid);
  for (int64_t s = 0; s < 4; ++s) {  // Bᵀ d: rows
    const __m512 p0 = p[s], p1 = p[4 + s], p2 = p[8 + s], p3 = p[12 + s];
    p[s] = _mm512_sub_ps(p0, p2);
    p[4 + s] = _mm512_add_ps(p1, p2);
    p[8 + s] = _mm512_sub_ps(p2, p1);
    p[12 + s] = _mm512_sub_ps(p1, p3);
  }
  for (int64_t r = 0; r < 4; ++r) {  // (Bᵀ d) B: columns
    const __m512 q0 = p[r * 4], q1 = p[r * 4 + 1], q2 = p[r * 4 + 2], q3 = p[r * 4 + 3];
    store_bf16(out + (r * 4 + 0) * plane + ch, _mm512_sub_ps(q0, q2), valid);
    store_bf16(out + (r * 4 + 1) * plane + ch, _mm512_add_ps(q1, q2), valid);
    store_bf16(out + (r * 4 + 2) * plane + ch, _mm512_sub_ps(q2, q1), valid);
    store_bf16(out + (r * 4 + 3) * plane + ch, _mm512_sub_ps(q1, q3), valid);
  }
}

// One tile's 2×2 outputs, Aᵀ m A + bias, for the 16 channels at in[p·plane] + ch (`valid` of them), into o[0..3] + ch.
__attribute__((always_inline)) inline void output_block(const float* in, int64_t plane, const float* bias, int64_t ch, __mmask16 valid,
                                                        uint16_t* const* o) {
  __m512 p[points];
  for (int64_t i = 0; i < points; ++i) p[i] = _mm512_maskz_loadu_ps(valid, in + i * plane + ch);
  const __m512 b = _mm512_maskz_loadu_ps(valid, bias + ch);
  __m512 q[8];
  for (int64_t s = 0; s < 4; ++s) {  // Aᵀ m: rows
    q[s] = _mm512_add_ps(_mm512_add_ps(p[s], p[4 + s]), p[8 + s]);
    q[4 + s] = _mm512_sub_ps(_mm512_sub_ps(p[4 + s], p[8 + s]), p[12 + s]);
  }
  for (int64_t r = 0; r < 2; ++r) {  // (Aᵀ m) A: columns, plus the bias
    store_bf16(o[r * 2] + ch, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(q[r * 4], q[r * 4 + 1]), q[r * 4 + 2]), b), valid);
    store_bf16(o[r * 2 + 1] + ch, _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(q[r * 4 + 1], q[r * 4 + 2]), q[r * 4 + 3]), b), valid);
  }
}
}  // namespace

// Whole blocks of 16 channels run unmasked (a mask per load cost as much as the transform), then one masked block for
// the rest; a patch point outside the image reads a row of zeros, an output past the edge goes to a row never read.
void input_transform(const uint16_t* x, const Tiling& g, int64_t c, int64_t first, int64_t last, uint16_t* v, int64_t plane) {
  const std::vector<uint16_t> zeros(c, 0);
  const int64_t whole = c / lanes * lanes;
  for (int64_t t = first; t < last; ++t) {
    const Tile at = tile_at(g, t);
    const uint16_t* d[points];
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t s = 0; s < 4; ++s) {
        const int64_t row = at.row - 1 + r, col = at.col - 1 + s;
        d[r * 4 + s] = row >= 0 && row < g.h && col >= 0 && col < g.w ? x + ((at.image * g.h + row) * g.w + col) * c : zeros.data();
      }
    uint16_t* out = v + (t - first) * c;
    for (int64_t ch = 0; ch < whole; ch += lanes) input_block(d, ch, __mmask16(0xFFFF), out, plane);
    if (whole < c) input_block(d, whole, avx512::first(c - whole), out, plane);
  }
}

void output_transform(const float* m, int64_t plane, const Tiling& g, int64_t k, const float* bias, int64_t first, int64_t last,
                      uint16_t* y) {
  const std::vector<float> no_bias(bias ? 0 : k, 0.0f);
  std::vector<uint16_t> outside(k);
  const float* b = bias ? bias : no_bias.data();
  const int64_t whole = k / lanes * lanes;
  for (int64_t t = first; t < last; ++t) {
    const Tile at = tile_at(g, t);
    uint16_t* o[4];
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t s = 0; s < 2; ++s) {
        const int64_t row = at.row + r, col = at.col + s;
        o[r * 2 + s] = row < g.h && col < g.w ? y + ((at.image * g.h + row) * g.w + col) * k : outside.data();
      }
    const float* in = m + (t - first) * k;
    for (int64_t ch = 0; ch < whole; ch += lanes) output_block(in, plane, b, ch, __mmask16(0xFFFF), o);
    if (whole < k) output_block(in, plane, b, whole, avx512::first(k - whole), o);
  }
}

void weight_transform(const uint16_t* g, int64_t k, int64_t c, int64_t stride_k, int64_t stride_c, int64_t stride_row,
                                int64_t stride_col, int64_t c_first, int64_t c_last, uint16_t* u) {
  for (int64_t i = c_first; i < c_last; ++i)
    for (int64_t o = 0; o < k; ++o) {  // along u's rows
      const uint16_t* w = g + o * stride_k + i * stride_c;
      float f[3][3], h[4][3];
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t s = 0; s < 3; ++s) f[r][s] = dt::bf16::widen(w[r * stride_row + s * stride_col]);
      for (int64_t s = 0; s < 3; ++s) {  // G g: rows
        h[0][s] = f[0][s];
        h[1][s] = 0.5f * (f[0][s] + f[1][s] + f[2][s]);
        h[2][s] = 0.5f * (f[0][s] - f[1][s] + f[2][s]);
        h[3][s] = f[2][s];
      }
      for (int64_t r = 0; r < 4; ++r) {  // (G g) Gᵀ: columns
        const float e[4] = {h[r][0], 0.5f * (h[r][0] + h[r][1] + h[r][2]), 0.5f * (h[r][0] - h[r][1] + h[r][2]), h[r][2]};
        for (int64_t s = 0; s < 4; ++s) u[((r * 4 + s) * c + i) * k + o] = dt::bf16::narrow(e[s]);
      }
    }
}
}  // namespace dt::kernels::winograd
