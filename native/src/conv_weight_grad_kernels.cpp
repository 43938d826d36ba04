// The weight gradient's products (conv_weight_grad_kernels.h) in AVX-512 intrinsics, for CPUs with AVX512-BF16: compiled
// for that ISA alone (CMakeLists.txt) and called only where conv_weight_grad_applies found it.
// Register blocking: BO output channels × BI vectors of 16 input channels of float32 accumulators (16–24 of the 32
// registers) stay in registers over a block of a run, for one kernel offset at a time; each position then costs BI
// vector loads of x, BO broadcasts of dy and BO·BI dot products, and the accumulators go back to dw once per block and
// offset. vdpbf16ps has a latency of several cycles and two issue ports, hence ≥ 16 independent accumulators.
// A block is 256 consecutive positions of a run: its dy stays in L1 while the offsets walk the x around it.
// No ATen here.
#include "conv_weight_grad_kernels.h"
#include "bf16.h"
#include "bf16_avx512.h"
#include "lanes.h"
#include <immintrin.h>
#include <algorithm>
#include <vector>

namespace dt::kernels::weight_grad {
namespace {
using dt::kernels::lanes;

constexpr int64_t block_positions = 256;

// dw's accumulators for output channels [o0, o0 + BO) × input channels [16·v0, 16·(v0 + BI)), over `count` positions of
// packed dy from dy_at, position p0 of the run, and their partners in the packed x planes (`planes[a]` at their first
// row; null where plane a is padding), for every kernel offset.
template <int BO, int BI>
void accumulate_block(const uint32_t* const* planes, const uint32_t* dy_at, const Geometry& g, int64_t p0, int64_t count, int64_t o0,
                      int64_t v0, float* dw) {
  const int64_t ic = g.ic, oc = g.oc, row = g.row();
  for (int64_t a = 0; a < g.kd; ++a) {
    if (!planes[a]) continue;  // a padding plane: zeros contribute nothing
    for (int64_t b = 0; b < g.kh; ++b)
      for (int64_t c = 0; c < g.kw; ++c) {
        float* out = dw + ((a * g.kh + b) * g.kw + c) * oc * ic + o0 * ic + v0 * lanes;
        __m512 acc[BO][BI];
#pragma GCC unroll 16
        for (int o = 0; o < BO; ++o)
#pragma GCC unroll 4
          for (int j = 0; j < BI; ++j) acc[o][j] = _mm512_loadu_ps(out + o * ic + j * lanes);
        // Position s = r · row + q of the run (dy's row r, column q) pairs with x's padded row r + b, column q + c − pw.
        const uint32_t* xr = planes[a] + (p0 + b * row + c - g.kw / 2) * ic + v0 * lanes;
        const uint32_t* yr = dy_at + o0;
        for (int64_t p = 0; p < count; ++p, xr += ic, yr += oc) {
          __m512bh xv[BI];
#pragma GCC unroll 4
          for (int j = 0; j < BI; ++j) xv[j] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xr + j * lanes));
#pragma GCC unroll 16
          for (int o = 0; o < BO; ++o) {
            const __m512bh y = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(yr[o])));
#pragma GCC unroll 4
            for (int j = 0; j < BI; ++j) acc[o][j] = _mm512_dpbf16_ps(acc[o][j], xv[j], y);
          }
        }
#pragma GCC unroll 16
        for (int o = 0; o < BO; ++o)
#pragma GCC unroll 4
          for (int j = 0; j < BI; ++j) _mm512_storeu_ps(out + o * ic + j * lanes, acc[o][j]);
      }
  }
}

// Every output-channel block for the input vectors [v0, v0 + BI): 16 at a time where BI is 1 and they divide, else 8.
template <int BI>
void accumulate_outputs(const uint32_t* const* planes, const uint32_t* dy_at, const Geometry& g, int64_t p0, int64_t count, int64_t v0,
                        float* dw) {
  int64_t o0 = 0;
  if constexpr (BI == 1)
    for (; o0 + 16 <= g.oc; o0 += 16) accumulate_block<16, 1>(planes, dy_at, g, p0, count, o0, v0, dw);
  for (; o0 < g.oc; o0 += 8) accumulate_block<8, BI>(planes, dy_at, g, p0, count, o0, v0, dw);
}

// 16 values of each sample of a pair (`valid` of them) interleaved into out; their float32 sums added to sums, if any.
__attribute__((always_inline)) inline void pack_vector(const uint16_t* a, const uint16_t* b, __mmask16 valid, uint32_t* out,
                                                       float* sums) {
  const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(valid, a));
  const __m512i hi = b ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(valid, b)) : _mm512_setzero_si512();
  _mm512_mask_storeu_epi32(out, valid, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
  if (sums) {  // bfloat16 → float32: the bits shifted up by 16
    const __m512 both = _mm512_add_ps(_mm512_castsi512_ps(_mm512_slli_epi32(lo, 16)), _mm512_castsi512_ps(_mm512_slli_epi32(hi, 16)));
    _mm512_mask_storeu_ps(sums, valid, _mm512_add_ps(_mm512_maskz_loadu_ps(valid, sums), both));
  }
}

// One packed row: the w positions of c channels at a (and b, the pair's second sample, or null), then `pad` zero
// positions.
void pack_row(const uint16_t* a, const uint16_t* b, int64_t w, int64_t c, int64_t pad, uint32_t* out, float* sums) {
  const int64_t values = w * c;
  // With sums, a vector's channels must be its offset modulo c: whole vectors of channels, or one position at a time.
  if (c % lanes == 0 || !sums) {
    for (int64_t i = 0, ch = 0; i < values; i += lanes, ch = ch + lanes == c ? 0 : ch + lanes)
      pack_vector(a + i, b ? b + i : nullptr, avx512::first(values - i), out + i, sums ? sums + ch : nullptr);
  } else {
    for (int64_t i = 0; i < values; i += c)
      for (int64_t ch = 0; ch < c; ch += lanes) pack_vector(a + i + ch, b ? b + i + ch : nullptr, avx512::first(c - ch), out + i + ch, sums + ch);
  }
  std::fill(out + values, out + values + pad * c, 0u);
}

// Plane `plane` of pair m of `in` (n, d, h, w, c) packed into out: `pad_rows` zero rows above and below, each row w
// positions and kw/2 zero positions.
void pack_plane(const uint16_t* in, const Geometry& g, int64_t c, int64_t m, int64_t plane, int64_t pad_rows, uint32_t* out, float* sums) {
  const int64_t row = g.row() * c, values = g.h * g.w * c, sample = g.d * values;
  const uint16_t* a = in + 2 * m * sample + plane * values;
  const uint16_t* b = 2 * m + 1 < g.n ? a + sample : nullptr;
  std::fill(out, out + pad_rows * row, 0u);
  out += pad_rows * row;
  for (int64_t r = 0; r < g.h; ++r, out += row)
    pack_row(a + r * g.w * c, b ? b + r * g.w * c : nullptr, g.w, c, g.kw / 2, out, sums);
  std::fill(out, out + pad_rows * row, 0u);
}
}  // namespace

bool supports(int64_t ic, int64_t oc) { return ic > 0 && oc > 0 && ic % lanes == 0 && oc % 8 == 0; }

void accumulate(const uint16_t* x, const uint16_t* dy, const Geometry& g, int64_t first, int64_t last, uint32_t* scratch,
                float* dw, float* sums) {
  const int64_t vectors = g.ic / lanes, margin = g.kw / 2 * g.ic, pd = g.kd / 2;
  uint32_t* dy_plane = scratch + g.kd * g.x_plane();
  // The ring: slot dp mod kd holds padded x plane dp of pair m, tagged m · (d + kd) + dp (−1: nothing yet).
  std::vector<int64_t> held(g.kd, -1);
  std::vector<const uint32_t*> planes(g.kd);
  for (int64_t slot = 0; slot < g.kd; ++slot) {  // the margins: zero once
    uint32_t* at = scratch + slot * g.x_plane();
    std::fill(at, at + margin, 0u);
    std::fill(at + g.x_plane() - margin, at + g.x_plane(), 0u);
  }
  for (int64_t run = first; run < last; ++run) {
    const int64_t m = run / g.d, d = run % g.d;
    for (int64_t a = 0; a < g.kd; ++a) {
      const int64_t dp = d + a, source = dp - pd, slot = dp % g.kd, tag = m * (g.d + g.kd) + dp;
      planes[a] = nullptr;
      if (source < 0 || source >= g.d) continue;
      uint32_t* at = scratch + slot * g.x_plane() + margin;
      if (held[slot] != tag) pack_plane(x, g, g.ic, m, source, g.kh / 2, at, nullptr), held[slot] = tag;
      planes[a] = at;
    }
    pack_plane(dy, g, g.oc, m, d, 0, dy_plane, sums);
    for (int64_t p0 = 0; p0 < g.run(); p0 += block_positions) {
      const int64_t count = std::min(block_positions, g.run() - p0);
      const uint32_t* dy_at = dy_plane + p0 * g.oc;
      // Input vectors in groups of two; an odd count ≥ 3 ends with a group of three, a single one stands alone.
      int64_t v0 = 0;
      if (vectors == 1) accumulate_outputs<1>(planes.data(), dy_at, g, p0, count, 0, dw), v0 = 1;
      for (; v0 < vectors; v0 += 2) {
        if (vectors - v0 == 3) {
          accumulate_outputs<3>(planes.data(), dy_at, g, p0, count, v0, dw);
          break;
        }
        accumulate_outputs<2>(planes.data(), dy_at, g, p0, count, v0, dw);
      }
    }
  }
}

void finish(const float* partials, int64_t count, int64_t stride, const Geometry& g, uint16_t* dw, uint16_t* db) {
  // Read in the partials' order, written across the weight's (its offsets are innermost there).
  const int64_t offsets = g.offsets(), ic = g.ic, oc = g.oc;
  for (int64_t k = 0; k < offsets; ++k)
    for (int64_t o = 0; o < oc; ++o) {
      const float* from = partials + (k * oc + o) * ic;
      uint16_t* to = dw + o * ic * offsets + k;
      for (int64_t i = 0; i < ic; i += lanes) {
        const __mmask16 valid = avx512::first(ic - i);
        __m512 total = _mm512_maskz_loadu_ps(valid, from + i);
        for (int64_t t = 1; t < count; ++t) total = _mm512_add_ps(total, _mm512_maskz_loadu_ps(valid, from + t * stride + i));
        alignas(64) uint16_t rounded[lanes];
        avx512::store_bf16(rounded, total, valid);
        for (int64_t l = 0; l < lanes && i + l < ic; ++l) to[(i + l) * offsets] = rounded[l];
      }
    }
  const float* sums = partials + offsets * oc * ic;
  for (int64_t o = 0; db && o < oc; ++o) {
    float total = sums[o];
    for (int64_t t = 1; t < count; ++t) total += sums[t * stride + o];
    db[o] = bf16::narrow(total);
  }
}
}  // namespace dt::kernels::weight_grad
