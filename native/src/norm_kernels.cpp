// Kernels of the fused GroupNorm(→SiLU) for float32 and bfloat16 elements. Like kernels.cpp: no ATen, plain loops
// that GCC vectorises (-O3, no precompiled header: CMakeLists.txt), cloned for AVX-512, AVX2 and a baseline.
// A bfloat16 is the high half of a float32, so widening is a 16-bit shift and narrowing rounds to nearest even
// (NaN kept quiet); every sum runs in float32 over 16 lanes (a fixed-width inner loop GCC turns into one vector
// register: it may not reorder a plain running sum), and the statistics use the corrected two-pass form
// (Chan, Golub & LeVeque 1983, eq. 1.7), which stays accurate when the mean is far from zero (|mean| ≫ std).
#include "norm_kernels.h"
#include "exp_poly.h"
#include <type_traits>

#define DT_ALWAYS_INLINE __attribute__((always_inline)) inline
#define DT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace {
constexpr int64_t lanes = 16;

DT_ALWAYS_INLINE float value(float v) { return v; }
DT_ALWAYS_INLINE float value(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

DT_ALWAYS_INLINE void put(float* p, float v) { *p = v; }
DT_ALWAYS_INLINE void put(uint16_t* p, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;  // round to nearest, ties to even
  *p = static_cast<uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? (bits >> 16) | 0x40u : rounded);
}

DT_ALWAYS_INLINE float sigmoid(float z) { return 1.0f / (1.0f + dt::kernels::exp_poly(-z)); }

// The lanes of an accumulator folded pairwise.
DT_ALWAYS_INLINE float fold(float* acc) {
  for (int64_t w = lanes / 2; w > 0; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// Runs step(i, lane) for i in [0, n): whole blocks of `lanes`, then the tail in the first lanes.
template <class Step>
DT_ALWAYS_INLINE void in_lanes(int64_t n, Step step) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int64_t j = 0; j < lanes; ++j) step(i + j, j);
  for (int64_t j = 0; i + j < n; ++j) step(i + j, j);
}

template <class T>
DT_ALWAYS_INLINE void moments(const T* __restrict x, int64_t m, float* mean, float* var) {
  float acc[lanes] = {};
  in_lanes(m, [&](int64_t i, int64_t j) { acc[j] += value(x[i]); });
  const float rough = fold(acc) / static_cast<float>(m);
  // Second pass about the rough mean: Σd corrects it, Σd² − (Σd)²/m is m·variance without cancellation.
  float sum[lanes] = {}, squares[lanes] = {};
  in_lanes(m, [&](int64_t i, int64_t j) {
    const float d = value(x[i]) - rough;
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
    for (int64_t i = 0; i < n; ++i) tmp[i] = value(p[i]);
    return tmp;
  }
}

template <class T, class O>
DT_ALWAYS_INLINE void apply(const T* __restrict x, O* __restrict y, int64_t channels, int64_t positions, float mean,
                            const float* scale, const float* shift, bool silu) {
  alignas(64) float in[chunk], out[chunk];
  for (int64_t c = 0; c < channels; ++c) {
    const float a = scale[c], b = shift[c];
    for (int64_t s0 = 0; s0 < positions; s0 += chunk) {
      const int64_t n = positions - s0 < chunk ? positions - s0 : chunk;
      const T* xc = x + c * positions + s0;
      O* yc = y + c * positions + s0;
      if (!silu) {
        for (int64_t s = 0; s < n; ++s) put(yc + s, (value(xc[s]) - mean) * a + b);
        continue;
      }
      const float* __restrict xs = as_floats(xc, n, in);
      float* __restrict ys;
      if constexpr (std::is_same_v<O, float>) ys = yc;
      else ys = out;
      for (int64_t s = 0; s < n; ++s) {
        const float z = (xs[s] - mean) * a + b;
        ys[s] = z * sigmoid(z);
      }
      if constexpr (!std::is_same_v<O, float>)
        for (int64_t s = 0; s < n; ++s) put(yc + s, out[s]);
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
        // d silu/dz = σ(z)·(1 + z·(1 − σ(z))), with z recomputed from x: nothing but x is kept for backward.
        in_lanes(n, [&](int64_t s, int64_t j) {
          const float d = xs[s] - mean;
          const float z = d * a + b;
          const float sg = sigmoid(z);
          const float g = gs[s] * sg * (1.0f + z * (1.0f - sg));
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
    for (int64_t s = 0; s < positions; ++s) put(dx + o + s, ac * dz[o + s] + b * (value(x[o + s]) - mean) + c0);
  }
}

// ---- channels-last rows ----
// Rows are summed in blocks of `block` into a per-channel partial that is then added to the running total, so each
// float32 sum grows by ~block + rows/block terms rather than `rows` (784 at 28×28, 32,768 in a 32³ volume).
constexpr int64_t block = 32;

template <class T>
DT_ALWAYS_INLINE void rows_sums_of(const T* __restrict x, int64_t rows, int64_t channels, const float* __restrict center,
                                   float* __restrict sum, float* __restrict squares) {
  float part_s[chunk], part_q[chunk];
  for (int64_t c0 = 0; c0 < channels; c0 += chunk) {  // a slice of at most `chunk` channels at a time
    const int64_t w = channels - c0 < chunk ? channels - c0 : chunk;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
      const int64_t r1 = rows - r0 < block ? rows : r0 + block;
      for (int64_t c = 0; c < w; ++c) part_s[c] = part_q[c] = 0.0f;
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict xr = x + r * channels + c0;
        if (squares) {
          for (int64_t c = 0; c < w; ++c) {
            const float d = value(xr[c]) - center[c0 + c];
            part_s[c] += d;
            part_q[c] += d * d;
          }
        } else {
          for (int64_t c = 0; c < w; ++c) part_s[c] += value(xr[c]) - center[c0 + c];
        }
      }
      for (int64_t c = 0; c < w; ++c) sum[c0 + c] += part_s[c];
      if (squares)
        for (int64_t c = 0; c < w; ++c) squares[c0 + c] += part_q[c];
    }
  }
}

template <class T, class O>
DT_ALWAYS_INLINE void rows_apply_of(const T* __restrict x, O* __restrict y, int64_t rows, int64_t channels, const float* __restrict center,
                                    const float* __restrict scale, const float* __restrict shift, bool silu) {
  alignas(64) float in[chunk], out[chunk];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c0 = 0; c0 < channels; c0 += chunk) {
      const int64_t w = channels - c0 < chunk ? channels - c0 : chunk;
      const T* xc = x + r * channels + c0;
      O* yc = y + r * channels + c0;
      const float *__restrict m = center + c0, *__restrict a = scale + c0, *__restrict b = shift + c0;
      if (!silu) {
        for (int64_t c = 0; c < w; ++c) put(yc + c, (value(xc[c]) - m[c]) * a[c] + b[c]);
        continue;
      }
      // As in apply(): the SiLU loop on float32 arrays only.
      const float* __restrict xs = as_floats(xc, w, in);
      float* __restrict ys;
      if constexpr (std::is_same_v<O, float>) ys = yc;
      else ys = out;
      for (int64_t c = 0; c < w; ++c) {
        const float z = (xs[c] - m[c]) * a[c] + b[c];
        ys[c] = z * sigmoid(z);
      }
      if constexpr (!std::is_same_v<O, float>)
        for (int64_t c = 0; c < w; ++c) put(yc + c, out[c]);
    }
  }
}

template <class G, class T>
DT_ALWAYS_INLINE void rows_backward_sums_of(const G* __restrict dy, const T* __restrict x, float* __restrict dz, int64_t rows,
                                            int64_t channels, const float* __restrict center, const float* __restrict scale,
                                            const float* __restrict shift, bool silu, float* __restrict ds, float* __restrict db) {
  alignas(64) float xin[chunk], gin[chunk], part_s[chunk], part_b[chunk];
  for (int64_t c0 = 0; c0 < channels; c0 += chunk) {
    const int64_t w = channels - c0 < chunk ? channels - c0 : chunk;
    const float *__restrict m = center + c0, *__restrict a = scale + c0, *__restrict b = shift + c0;
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
      const int64_t r1 = rows - r0 < block ? rows : r0 + block;
      for (int64_t c = 0; c < w; ++c) part_s[c] = part_b[c] = 0.0f;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t o = r * channels + c0;
        const float* __restrict xs = as_floats(x + o, w, xin);
        const float* __restrict gs = as_floats(dy + o, w, gin);
        float* __restrict dzs = dz + o;
        if (silu) {
          for (int64_t c = 0; c < w; ++c) {
            const float d = xs[c] - m[c];
            const float z = d * a[c] + b[c];
            const float sg = sigmoid(z);
            const float g = gs[c] * sg * (1.0f + z * (1.0f - sg));
            dzs[c] = g;
            part_s[c] += g * d;
            part_b[c] += g;
          }
        } else {
          for (int64_t c = 0; c < w; ++c) {
            const float g = gs[c];
            dzs[c] = g;
            part_s[c] += g * (xs[c] - m[c]);
            part_b[c] += g;
          }
        }
      }
      for (int64_t c = 0; c < w; ++c) {
        ds[c0 + c] += part_s[c];
        db[c0 + c] += part_b[c];
      }
    }
  }
}

template <class T>
DT_ALWAYS_INLINE void rows_backward_dx_of(const float* __restrict dz, const T* __restrict x, T* __restrict dx, int64_t rows,
                                          int64_t channels, const float* __restrict center, const float* __restrict a,
                                          const float* __restrict b, const float* __restrict c0) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r * channels;
    for (int64_t c = 0; c < channels; ++c) put(dx + o + c, a[c] * dz[o + c] + b[c] * (value(x[o + c]) - center[c]) + c0[c]);
  }
}
}  // namespace

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
