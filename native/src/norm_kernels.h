// Raw kernels of the fused GroupNorm(→SiLU) (norm_kernels.cpp); group_norm.cpp runs them per (sample, group) and
// wraps them as an autograd function. Each call works on one group: `channels` channels of `positions` contiguous
// elements each. Elements are float32 or bfloat16 (its bits, uint16_t); statistics and scratch are float32.
#pragma once
#include <cstdint>

namespace dt::kernels {
// Mean and (biased) variance of m contiguous elements, both accumulated in float32.
void group_moments(const float* x, int64_t m, float* mean, float* var);
void group_moments(const uint16_t* x, int64_t m, float* mean, float* var);

// y[c, s] = act((x[c, s] − mean)·scale[c] + shift[c]), act = SiLU when silu, else the identity.
void group_apply(const float* x, float* y, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu);
void group_apply(const float* x, uint16_t* y, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu);
void group_apply(const uint16_t* x, float* y, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu);
void group_apply(const uint16_t* x, uint16_t* y, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu);

// Backward, first pass: dz = dy·act′(z) with z = (x − mean)·scale[c] + shift[c] recomputed (written to dz, float32
// scratch of channels·positions), and per channel ds[c] = Σ_s dz·(x − mean), db[c] = Σ_s dz.
void group_backward_sums(const float* dy, const float* x, float* dz, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu, float* ds, float* db);
void group_backward_sums(const uint16_t* dy, const float* x, float* dz, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu, float* ds, float* db);
void group_backward_sums(const float* dy, const uint16_t* x, float* dz, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu, float* ds, float* db);
void group_backward_sums(const uint16_t* dy, const uint16_t* x, float* dz, int64_t channels, int64_t positions, float mean, const float* scale, const float* shift, bool silu, float* ds, float* db);

// Backward, second pass: dx[c, s] = a[c]·dz[c, s] + b·(x[c, s] − mean) + c0.
void group_backward_dx(const float* dz, const float* x, float* dx, int64_t channels, int64_t positions, float mean, const float* a, float b, float c0);
void group_backward_dx(const float* dz, const uint16_t* x, uint16_t* dx, int64_t channels, int64_t positions, float mean, const float* a, float b, float c0);

// Channels-last rows (N, *spatial, C): `rows` positions of `channels` contiguous elements, every per-channel array of
// length `channels`; the loops run across the channels of a row, so they vectorise as the NCHW ones run along positions.
// The group statistics are formed from per-channel sums (group_norm.cpp), taken in float32 in blocks of rows.

// sum[c] += Σ_r (x[r, c] − center[c]) and, when squares is given, squares[c] += Σ_r (x[r, c] − center[c])².
void rows_sums(const float* x, int64_t rows, int64_t channels, const float* center, float* sum, float* squares);
void rows_sums(const uint16_t* x, int64_t rows, int64_t channels, const float* center, float* sum, float* squares);

// y[r, c] = act((x[r, c] − center[c])·scale[c] + shift[c]).
void rows_apply(const float* x, float* y, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu);
void rows_apply(const float* x, uint16_t* y, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu);
void rows_apply(const uint16_t* x, float* y, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu);
void rows_apply(const uint16_t* x, uint16_t* y, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu);

// dz = dy·act′(z) (z recomputed from x, written to dz: rows·channels float32), ds[c] += Σ_r dz·(x − center[c]), db[c] += Σ_r dz.
void rows_backward_sums(const float* dy, const float* x, float* dz, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu, float* ds, float* db);
void rows_backward_sums(const uint16_t* dy, const float* x, float* dz, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu, float* ds, float* db);
void rows_backward_sums(const float* dy, const uint16_t* x, float* dz, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu, float* ds, float* db);
void rows_backward_sums(const uint16_t* dy, const uint16_t* x, float* dz, int64_t rows, int64_t channels, const float* center, const float* scale, const float* shift, bool silu, float* ds, float* db);

// dx[r, c] = a[c]·dz[r, c] + b[c]·(x[r, c] − center[c]) + c0[c].
void rows_backward_dx(const float* dz, const float* x, float* dx, int64_t rows, int64_t channels, const float* center, const float* a, const float* b, const float* c0);
void rows_backward_dx(const float* dz, const uint16_t* x, uint16_t* dx, int64_t rows, int64_t channels, const float* center, const float* a, const float* b, const float* c0);
}  // namespace dt::kernels
