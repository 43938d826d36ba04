// Row kernels of the convolutions with few output channels (conv_narrow.cpp): float32 arithmetic on rows that the caller
// has widened from bfloat16 and padded with zeros (positions, rows and channels up to a multiple of 16), so no tap needs
// a bounds test. Like kernels.cpp: no ATen, cloned for AVX-512, AVX2 and a baseline (-O3, CMakeLists.txt). The channels
// are the vector lanes, in blocks of 16 (GCC's vector extension, which each clone compiles to its widest registers), and
// every kernel keeps a tile of accumulators in registers across the kernel's taps: 8 output positions for the forward and
// the input gradient, 8 (tap, channel block) pairs for the weight gradient. (The first version looped over positions and
// then over C channels: ~20 instructions of set-up per position around one 16-lane block, 2.5 ns per block; then flat
// loops over whole rows with the accumulators in memory, ~1 ns — no faster than oneDNN's padded kernels for these layers.)
#include "conv_narrow_kernels.h"
#include "bf16.h"
#include <algorithm>
#include <cstring>

#define DT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define DT_ALWAYS_INLINE __attribute__((always_inline)) inline

namespace {
using dt::bf16::narrow;
using dt::bf16::widen;
using dt::kernels::Geometry;
using dt::kernels::lanes;
constexpr int64_t tile = dt::kernels::narrow_tile;  // accumulators kept in registers

typedef float floats __attribute__((vector_size(lanes * sizeof(float))));

DT_ALWAYS_INLINE floats load(const float* p) {
  floats v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
DT_ALWAYS_INLINE void store(float* p, floats v) { std::memcpy(p, &v, sizeof v); }
DT_ALWAYS_INLINE floats broadcast(float d) { return floats{} + d; }

// The lanes summed pairwise.
DT_ALWAYS_INLINE float lane_sum(floats v) {
  float a[lanes];
  std::memcpy(a, &v, sizeof a);
  return dt::kernels::fold(a);
}

DT_ALWAYS_INLINE const float* weight(const float* w, const Geometry& g, int64_t o, int64_t t, int64_t kw) {
  return w + ((o * g.taps + t) * g.kernel_width + kw) * g.padded_channels();
}
}  // namespace

namespace dt::kernels {
DT_CLONES void narrow_padded_row(const uint16_t* x, const Geometry& g, float* out) {
  const int64_t Cp = g.padded_channels(), C = g.channels;
  if (!x) {
    std::fill(out, out + g.padded_width() * Cp, 0.0f);
    return;
  }
  std::fill(out, out + g.pad * Cp, 0.0f);
  float* body = out + g.pad * Cp;
  if (C == Cp) {
    for (int64_t k = 0; k < g.width * C; ++k) body[k] = widen(x[k]);
  } else {
    for (int64_t w = 0; w < g.width; ++w) {
      for (int64_t c = 0; c < C; ++c) body[w * Cp + c] = widen(x[w * C + c]);
      for (int64_t c = C; c < Cp; ++c) body[w * Cp + c] = 0.0f;
    }
  }
  std::fill(body + g.width * Cp, out + g.padded_width() * Cp, 0.0f);
}

DT_CLONES void narrow_forward_row(const float* const* rows, const Geometry& g, const float* w, const float* bias, uint16_t* y) {
  const int64_t Cp = g.padded_channels();
  // Every channel block of every tap goes into the same tile of accumulators: one horizontal sum per output position.
  for (int64_t o = 0; o < g.outputs; ++o)
    for (int64_t ow0 = 0; ow0 < g.out_width; ow0 += tile) {
      floats acc[tile] = {};
      for (int64_t t = 0; t < g.taps; ++t)
        for (int64_t kw = 0; kw < g.kernel_width; ++kw) {
          const float* wt = weight(w, g, o, t, kw);
          const float* x = rows[t] + (ow0 + kw) * Cp;
          for (int64_t cb = 0; cb < Cp; cb += lanes) {
            const floats wv = load(wt + cb);
            for (int64_t r = 0; r < tile; ++r) acc[r] += load(x + r * Cp + cb) * wv;
          }
        }
      const float b = bias ? bias[o] : 0.0f;
      const int64_t n = std::min(tile, g.out_width - ow0);
      for (int64_t r = 0; r < n; ++r) y[(ow0 + r) * g.outputs + o] = narrow(b + lane_sum(acc[r]));
    }
}

DT_CLONES void narrow_backward_data_row(const float* const* dy_rows, const Geometry& g, const float* w, uint16_t* dx) {
  const int64_t Cp = g.padded_channels(), O = g.outputs, K = g.kernel_width;
  for (int64_t cb = 0; cb < Cp; cb += lanes) {
    const int64_t width = std::min(lanes, g.channels - cb);  // real channels in this block
    for (int64_t iw0 = 0; iw0 < g.width; iw0 += tile) {
      floats acc[tile] = {};
      for (int64_t t = 0; t < g.taps; ++t)
        for (int64_t kw = 0; kw < K; ++kw)
          for (int64_t o = 0; o < O; ++o) {
            const floats wv = load(weight(w, g, o, t, kw) + cb);
            // Input position iw reads output position iw − kw + pad, stored K − 1 positions in.
            const float* d = dy_rows[t] + (iw0 - kw + g.pad + K - 1) * O + o;
            for (int64_t r = 0; r < tile; ++r) acc[r] += broadcast(d[r * O]) * wv;
          }
      const int64_t n = std::min(tile, g.width - iw0);
      for (int64_t r = 0; r < n; ++r) {
        float v[lanes];
        std::memcpy(v, &acc[r], sizeof v);
        for (int64_t c = 0; c < width; ++c) dx[(iw0 + r) * g.channels + cb + c] = narrow(v[c]);
      }
    }
  }
}

DT_CLONES void narrow_backward_weights_row(const float* const* rows, const uint16_t* dy, const Geometry& g, float* d, float* dw, float* db) {
  const int64_t Cp = g.padded_channels(), O = g.outputs, blocks = Cp / lanes;
  for (int64_t k = 0; k < g.out_width * O; ++k) d[k] = widen(dy[k]);
  const int64_t triples = g.taps * g.kernel_width * blocks;
  float sink[lanes] = {};  // where a tile's unused accumulators go
  for (int64_t o = 0; o < O; ++o) {
    if (db)
      for (int64_t ow = 0; ow < g.out_width; ++ow) db[o] += d[ow * O + o];
    // The (tap, kw, channel block) triples a tile at a time: each accumulator is one 16-lane block of dw, summed over the
    // row's positions.
    for (int64_t k0 = 0; k0 < triples; k0 += tile) {
      const float* x[tile];
      float* target[tile];
      for (int64_t i = 0; i < tile; ++i) {
        const int64_t k = k0 + i < triples ? k0 + i : k0;  // past the last triple: reread the first, add into the sink
        const int64_t t = k / (g.kernel_width * blocks), kw = (k / blocks) % g.kernel_width, cb = (k % blocks) * lanes;
        x[i] = rows[t] + kw * Cp + cb;
        target[i] = k0 + i < triples ? dw + ((o * g.taps + t) * g.kernel_width + kw) * Cp + cb : sink;
      }
      floats acc[tile];
      for (int64_t i = 0; i < tile; ++i) acc[i] = load(target[i]);
      for (int64_t ow = 0; ow < g.out_width; ++ow) {
        const floats dv = broadcast(d[ow * O + o]);
        for (int64_t i = 0; i < tile; ++i) acc[i] += dv * load(x[i] + ow * Cp);
      }
      for (int64_t i = 0; i < tile; ++i) store(target[i], acc[i]);
    }
  }
}
}  // namespace dt::kernels
