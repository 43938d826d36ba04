// Kernels of the fused GroupNorm(→SiLU) for float32 and bfloat16 elements. Like kernels.cpp: no ATen, plain loops
// that GCC vectorises (-O3, no precompiled header: CMakeLists.txt), cloned for AVX-512, AVX2 and a baseline.
// bfloat16 elements are widened and narrowed as bf16.h says; every sum runs in float32 over 16 lanes (a fixed-width inner loop GCC turns into one vector
// register: it may not reorder a plain running sum), and the statistics use the corrected two-pass form
// (Chan, Golub & LeVeque 1983, eq. 1.7), which stays accurate when the mean is far from zero (|mean| ≫ std).
#include "norm_kernels.h"
#include "bf16.h"
#include "exp_poly.h"
#include "lanes.h"
#include "norm_kernels_avx512.h"
#include <atomic>
#include <type_traits>

#define DT_ALWAYS_INLINE __attribute__((always_inline)) inline
#define DT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {
using dt::kernels::fold;
using dt::kernels::in_lanes;
using dt::kernels::lanes;
using dt::bf16::as_float;
using dt::bf16::store;

DT_ALWAYS_INLINE float sigmoid(float z) { return 1.0f / (1.0f + dt::kernels::exp_poly(-z)); }

// dy·silu′(z) = dy·σ(z)·(1 + z·(1 − σ(z))), z recomputed from x by the caller: nothing but x is kept for backward.
DT_ALWAYS_INLINE float through_silu(float dy, float z) {
  const float sg = sigmoid(z);
  return dy * sg * (1.0f + z * (1.0f - sg));
}

template <class T>
DT_ALWAYS_INLINE void moments(const T* __restrict x, int64_t m, float* mean, float* var) {
  float acc[lanes] = {};
  in_lanes(m, [&](int64_t i, int64_t j) { acc[j] += as_float(x[i]); });
  const float rough = fold(acc) / static_cast<float>(m);
  // Second pass about the rough mean: Σd corrects it, Σd² − (Σd)²/m is m·variance without cancellation.
  float sum[lanes] = {}, squares[lanes] = {};
  in_lanes(m, [&](int64_t i, int64_t j) {
    const float d = as_float(x[i]) - rough;
    sum[j] += d;
    squares[j] += d * d;
  });
  const float s = fold(sum), q = fold(squares);
  *mean = rough + s / static_cast<float>(m);
  const float v = (q - s * s / static_cast<float>(m)) / static_cast<float>(m);
  *var = v > 0.0f ? v : 0.0f;
}

// The SiLU loops run on float32 arrays only: mixing 16-bit loads or stores into them made GCC's vectorised loop about
// twice as slow (measured 1.6 against 0.9 ns per element), so bfloat16 rows are widened into (and narrowed out of) an
// L1-sized float32 chunk, which costs a cheap extra pass.
constexpr int64_t chunk = 1024;  // a multiple of `lanes`, so lane sums continue across chunks

template <class T>
DT_ALWAYS_INLINE const float* as_floats(const T* __restrict p, int64_t n, float* __restrict tmp) {
  if constexpr (std::is_same_v<T, float>) {
    return p;
  } else {
    dt::bf16::widen(p, tmp, n);
    return tmp;
  }
}

// y[k] = act((x[k] − m(k))·a(k) + b(k)) over one run of n ≤ chunk elements, where m, a, b give element k's coefficients
// (a channel's constants in NCHW, a tile's repeated arrays in channels-last). As said above, the SiLU loop runs on
// float32 arrays only.
template <class T, class O, class M, class A, class B>
DT_ALWAYS_INLINE void normalize_run(const T* __restrict xc, O* __restrict yc, int64_t n, M m, A a, B b, bool silu,
                                    float* __restrict in, float* __restrict out) {
  if (!silu) {
    for (int64_t k = 0; k < n; ++k) store(yc + k, (as_float(xc[k]) - m(k)) * a(k) + b(k));
    return;
  }
  const float* __restrict xs = as_floats(xc, n, in);
  float* __restrict ys;
  if constexpr (std::is_same_v<O, float>) ys = yc;
  else ys = out;
  for (int64_t k = 0; k < n; ++k) {
    const float z = (xs[k] - m(k)) * a(k) + b(k);
    ys[k] = z * sigmoid(z);
  }
  if constexpr (!std::is_same_v<O, float>) dt::bf16::narrow(out, yc, n);
}

template <class T, class O>
DT_ALWAYS_INLINE void apply(const T* __restrict x, O* __restrict y, int64_t channels, int64_t positions, float mean,
                            const float* scale, const float* shift, bool silu) {
  alignas(64) float in[chunk], out[chunk];
  for (int64_t c = 0; c < channels; ++c) {
    const float a = scale[c], b = shift[c];
    for (int64_t s0 = 0; s0 < positions; s0 += chunk) {
      const int64_t n = positions - s0 < chunk ? positions - s0 : chunk;
      normalize_run(x + c * positions + s0, y + c * positions + s0, n, [=](int64_t) { return mean; }, [=](int64_t) { return a; },
                    [=](int64_t) { return b; }, silu, in, out);
    }
  }
}

template <class G, class T>
DT_ALWAYS_INLINE void backward_sums(const G* __restrict dy, const T* __restrict x, float* __restrict dz, int64_t channels,
                                    int64_t positions, float mean, const float* scale, const float* shift, bool silu,
                                    float* ds, float* db) {
  alignas(64) float xin[chunk], gin[chunk];
  for (int64_t c = 0; c < channels; ++c) {
    const float a = scale[c], b = shift[c];
    float s_acc[lanes] = {}, b_acc[lanes] = {};
    for (int64_t s0 = 0; s0 < positions; s0 += chunk) {
      const int64_t n = positions - s0 < chunk ? positions - s0 : chunk, o = c * positions + s0;
      const float* __restrict xs = as_floats(x + o, n, xin);
      const float* __restrict gs = as_floats(dy + o, n, gin);
      float* __restrict dzs = dz + o;
      if (silu) {
        in_lanes(n, [&](int64_t s, int64_t j) {
          const float d = xs[s] - mean;
          const float g = through_silu(gs[s], d * a + b);
          dzs[s] = g;
          s_acc[j] += g * d;
          b_acc[j] += g;
        });
      } else {
        in_lanes(n, [&](int64_t s, int64_t j) {
          const float g = gs[s];
          dzs[s] = g;
          s_acc[j] += g * (xs[s] - mean);
          b_acc[j] += g;
        });
      }
    }
    ds[c] = fold(s_acc);
    db[c] = fold(b_acc);
  }
}

template <class T>
DT_ALWAYS_INLINE void backward_dx(const float* __restrict dz, const T* __restrict x, T* __restrict dx, int64_t channels,
                                  int64_t positions, float mean, const float* a, float b, float c0) {
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t o = c * positions;
    const float ac = a[c];
    for (int64_t s = 0; s < positions; ++s) store(dx + o + s, ac * dz[o + s] + b * (as_float(x[o + s]) - mean) + c0);
  }
}

// ---- channels-last rows ----
// With bfloat16 on both sides and a CPU with AVX512-BF16, a tile's loop runs in norm_kernels_avx512.cpp instead (its
// exp and its bfloat16 stores are ~2× cheaper than what GCC makes of the loops below).
template <class A, class B>
constexpr bool bf16_pair() { return std::is_same_v<A, uint16_t> && std::is_same_v<B, uint16_t>; }

// A row holds `channels` contiguous elements, one per channel. When a row fits in `chunk`, `per` whole rows form one
// flat tile of per·channels elements, and the per-channel coefficients are repeated along the tile, so a tile is one
// plain vector loop (a row of 64 channels alone is too short to run at speed: a loop of 4 vectors plus its set-up);
// wider rows are cut into slices of `chunk` channels, one row at a time. Sums are kept per tile slot and folded into
// the channel totals every `block` tiles, so each float32 sum grows by ~block + rows/(per·block) + per terms.
constexpr int64_t block = 32;

// The tiling of rows × channels: slices of ≤ chunk channels, `per` rows at a time.
struct Tiles {
  int64_t rows, channels;
  int64_t width(int64_t c0) const { return channels - c0 < chunk ? channels - c0 : chunk; }
  int64_t per(int64_t w) const { return w == channels ? chunk / channels : 1; }  // rows per tile (whole rows only)
};

// Repeats coefficient c[c0 .. c0 + w) `per` times into t.
DT_ALWAYS_INLINE void repeat(const float* __restrict c, int64_t c0, int64_t w, int64_t per, float* __restrict t) {
  for (int64_t k = 0; k < per; ++k)
    for (int64_t j = 0; j < w; ++j) t[k * w + j] = c[c0 + j];
}

// A slice's per-channel center, scale and shift, repeated along its tile.
struct TileAffine {
  alignas(64) float m[chunk], a[chunk], b[chunk];

  TileAffine(const float* center, const float* scale, const float* shift, int64_t c0, int64_t w, int64_t per) {
    repeat(center, c0, w, per, m);
    repeat(scale, c0, w, per, a);
    repeat(shift, c0, w, per, b);
  }
};

// Adds the tile-slot sums acc[0 .. per·w) into total[c0 .. c0 + w) and clears them.
DT_ALWAYS_INLINE void fold_into(float* __restrict acc, int64_t w, int64_t per, float* __restrict total, int64_t c0) {
  for (int64_t k = 0; k < per; ++k)
    for (int64_t j = 0; j < w; ++j) {
      total[c0 + j] += acc[k * w + j];
      acc[k * w + j] = 0.0f;
    }
}

// Calls body(offset, n) for the flat runs of one slice [c0, c0 + w): n = (rows in the tile)·w elements from x + offset
// when whole rows tile (w == channels), else one row's slice; after every `block` tiles and at the end, flush().
template <class Body, class Flush>
DT_ALWAYS_INLINE void for_tiles(const Tiles& t, int64_t c0, int64_t w, Body body, Flush flush) {
  const int64_t per = t.per(w);
  int64_t since = 0;
  for (int64_t r0 = 0; r0 < t.rows; r0 += per) {
    const int64_t n = (t.rows - r0 < per ? t.rows - r0 : per) * w;
    body(r0 * t.channels + c0, n);
    if (++since == block) {
      flush();
      since = 0;
    }
  }
  flush();
}

template <class T>
DT_ALWAYS_INLINE void rows_sums_of(const T* __restrict x, int64_t rows, int64_t channels, const float* __restrict center,
                                   float* __restrict sum, float* __restrict squares) {
  const Tiles t{rows, channels};
  alignas(64) float m[chunk], acc_s[chunk] = {}, acc_q[chunk] = {};
  for (int64_t c0 = 0; c0 < channels; c0 += chunk) {
    const int64_t w = t.width(c0), per = t.per(w);
    repeat(center, c0, w, per, m);
    for_tiles(t, c0, w, [&](int64_t o, int64_t n) {
      const T* __restrict xs = x + o;
      if (squares) {
        for (int64_t k = 0; k < n; ++k) {
          const float d = as_float(xs[k]) - m[k];
          acc_s[k] += d;
          acc_q[k] += d * d;
        }
      } else {
        for (int64_t k = 0; k < n; ++k) acc_s[k] += as_float(xs[k]) - m[k];
      }
    }, [&] {
      fold_into(acc_s, w, per, sum, c0);
      if (squares) fold_into(acc_q, w, per, squares, c0);
    });
  }
}

template <class T, class O>
DT_ALWAYS_INLINE void rows_apply_of(const T* __restrict x, O* __restrict y, int64_t rows, int64_t channels, const float* __restrict center,
                                    const float* __restrict scale, const float* __restrict shift, bool silu) {
  const Tiles t{rows, channels};
  alignas(64) float in[chunk], out[chunk];
  const bool intrinsics = bf16_pair<T, O>() && dt::kernels::avx512::available();
  for (int64_t c0 = 0; c0 < channels; c0 += chunk) {
    const int64_t w = t.width(c0), per = t.per(w);
    const TileAffine f(center, scale, shift, c0, w, per);
    for_tiles(t, c0, w, [&](int64_t o, int64_t n) {
      if constexpr (bf16_pair<T, O>()) {
        if (intrinsics) return dt::kernels::avx512::normalize(x + o, y + o, n, f.m, f.a, f.b, silu);
      }
      normalize_run(x + o, y + o, n, [&](int64_t k) { return f.m[k]; }, [&](int64_t k) { return f.a[k]; },
                    [&](int64_t k) { return f.b[k]; }, silu, in, out);
    }, [] {});
  }
}

template <class G, class T>
DT_ALWAYS_INLINE void rows_backward_sums_of(const G* __restrict dy, const T* __restrict x, float* __restrict dz, int64_t rows,
                                            int64_t channels, const float* __restrict center, const float* __restrict scale,
                                            const float* __restrict shift, bool silu, float* __restrict ds, float* __restrict db) {
  const Tiles t{rows, channels};
  alignas(64) float xin[chunk], gin[chunk], acc_s[chunk] = {}, acc_b[chunk] = {};
  const bool intrinsics = bf16_pair<G, T>() && dt::kernels::avx512::available();
  for (int64_t c0 = 0; c0 < channels; c0 += chunk) {
    const int64_t w = t.width(c0), per = t.per(w);
    const TileAffine f(center, scale, shift, c0, w, per);
    const float *__restrict m = f.m, *__restrict a = f.a, *__restrict b = f.b;
    for_tiles(t, c0, w, [&](int64_t o, int64_t n) {
      if constexpr (bf16_pair<G, T>()) {
        if (intrinsics) return dt::kernels::avx512::backward_sums(dy + o, x + o, dz + o, n, m, a, b, silu, acc_s, acc_b);
      }
      const float* __restrict xs = as_floats(x + o, n, xin);
      const float* __restrict gs = as_floats(dy + o, n, gin);
      float* __restrict dzs = dz + o;
      if (silu) {
        for (int64_t k = 0; k < n; ++k) {
          const float d = xs[k] - m[k];
          const float g = through_silu(gs[k], d * a[k] + b[k]);
          dzs[k] = g;
          acc_s[k] += g * d;
          acc_b[k] += g;
        }
      } else {
        for (int64_t k = 0; k < n; ++k) {
          const float g = gs[k];
          dzs[k] = g;
          acc_s[k] += g * (xs[k] - m[k]);
          acc_b[k] += g;
        }
      }
    }, [&] {
      fold_into(acc_s, w, per, ds, c0);
      fold_into(acc_b, w, per, db, c0);
    });
  }
}

template <class T>
DT_ALWAYS_INLINE void rows_backward_dx_of(const float* __restrict dz, const T* __restrict x, T* __restrict dx, int64_t rows,
                                          int64_t channels, const float* __restrict center, const float* __restrict a,
                                          const float* __restrict b, const float* __restrict c0) {
  const Tiles t{rows, channels};
  alignas(64) float tc[chunk];
  const bool intrinsics = bf16_pair<T, T>() && dt::kernels::avx512::available();
  for (int64_t first = 0; first < channels; first += chunk) {
    const int64_t w = t.width(first), per = t.per(w);
    const TileAffine f(center, a, b, first, w, per);  // here: center, the dz coefficient and the (x − center) coefficient
    repeat(c0, first, w, per, tc);
    const float *__restrict m = f.m, *__restrict ta = f.a, *__restrict tb = f.b;
    for_tiles(t, first, w, [&](int64_t o, int64_t n) {
      if constexpr (bf16_pair<T, T>()) {
        if (intrinsics) return dt::kernels::avx512::backward_dx(dz + o, x + o, dx + o, n, m, ta, tb, tc);
      }
      for (int64_t k = 0; k < n; ++k) store(dx + o + k, ta[k] * dz[o + k] + tb[k] * (as_float(x[o + k]) - m[k]) + tc[k]);
    }, [] {});
  }
}
}  // namespace

namespace dt::kernels::avx512 {
namespace {
std::atomic<bool> enabled{true};
}

bool supported() {
  static const bool isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return isa;
}

bool available() { return supported() && enabled.load(std::memory_order_relaxed); }

void set_enabled(bool on) { enabled.store(on, std::memory_order_relaxed); }
}  // namespace dt::kernels::avx512

namespace dt::kernels {
DT_CLONES void group_moments(const float* x, int64_t m, float* mean, float* var) { moments(x, m, mean, var); }
DT_CLONES void group_moments(const uint16_t* x, int64_t m, float* mean, float* var) { moments(x, m, mean, var); }

#define DT_APPLY(T, O)                                                                                              \
  DT_CLONES void group_apply(const T* x, O* y, int64_t channels, int64_t positions, float mean, const float* scale, \
                             const float* shift, bool silu) {                                                       \
    apply(x, y, channels, positions, mean, scale, shift, silu);                                                     \
  }
DT_APPLY(float, float)
DT_APPLY(float, uint16_t)
DT_APPLY(uint16_t, float)
DT_APPLY(uint16_t, uint16_t)
#undef DT_APPLY

#define DT_SUMS(G, T)                                                                                                 \
  DT_CLONES void group_backward_sums(const G* dy, const T* x, float* dz, int64_t channels, int64_t positions,         \
                                     float mean, const float* scale, const float* shift, bool silu, float* ds,        \
                                     float* db) {                                                                     \
    backward_sums(dy, x, dz, channels, positions, mean, scale, shift, silu, ds, db);                                  \
  }
DT_SUMS(float, float)
DT_SUMS(uint16_t, float)
DT_SUMS(float, uint16_t)
DT_SUMS(uint16_t, uint16_t)
#undef DT_SUMS

DT_CLONES void group_backward_dx(const float* dz, const float* x, float* dx, int64_t channels, int64_t positions, float mean,
                                 const float* a, float b, float c0) {
  backward_dx(dz, x, dx, channels, positions, mean, a, b, c0);
}
DT_CLONES void group_backward_dx(const float* dz, const uint16_t* x, uint16_t* dx, int64_t channels, int64_t positions,
                                 float mean, const float* a, float b, float c0) {
  backward_dx(dz, x, dx, channels, positions, mean, a, b, c0);
}

DT_CLONES void rows_sums(const float* x, int64_t rows, int64_t channels, const float* center, float* sum, float* squares) {
  rows_sums_of(x, rows, channels, center, sum, squares);
}
DT_CLONES void rows_sums(const uint16_t* x, int64_t rows, int64_t channels, const float* center, float* sum, float* squares) {
  rows_sums_of(x, rows, channels, center, sum, squares);
}

#define DT_ROWS_APPLY(T, O)                                                                                        \
  DT_CLONES void rows_apply(const T* x, O* y, int64_t rows, int64_t channels, const float* center,                 \
                            const float* scale, const float* shift, bool silu) {                                   \
    rows_apply_of(x, y, rows, channels, center, scale, shift, silu);                                               \
  }
DT_ROWS_APPLY(float, float)
DT_ROWS_APPLY(float, uint16_t)
DT_ROWS_APPLY(uint16_t, float)
DT_ROWS_APPLY(uint16_t, uint16_t)
#undef DT_ROWS_APPLY

#define DT_ROWS_SUMS(G, T)                                                                                          \
  DT_CLONES void rows_backward_sums(const G* dy, const T* x, float* dz, int64_t rows, int64_t channels,            \
                                    const float* center, const float* scale, const float* shift, bool silu,        \
                                    float* ds, float* db) {                                                         \
    rows_backward_sums_of(dy, x, dz, rows, channels, center, scale, shift, silu, ds, db);                           \
  }
DT_ROWS_SUMS(float, float)
DT_ROWS_SUMS(uint16_t, float)
DT_ROWS_SUMS(float, uint16_t)
DT_ROWS_SUMS(uint16_t, uint16_t)
#undef DT_ROWS_SUMS

DT_CLONES void rows_backward_dx(const float* dz, const float* x, float* dx, int64_t rows, int64_t channels, const float* center,
                                const float* a, const float* b, const float* c0) {
  rows_backward_dx_of(dz, x, dx, rows, channels, center, a, b, c0);
}
DT_CLONES void rows_backward_dx(const float* dz, const uint16_t* x, uint16_t* dx, int64_t rows, int64_t channels,
                                const float* center, const float* a, const float* b, const float* c0) {
  rows_backward_dx_of(dz, x, dx, rows, channels, center, a, b, c0);
}
}  // namespace dt::kernels
