// The weight gradient of a bfloat16 stride-1 "same" convolution (3-D; 2-D is d = kd = 1), odd kernel k, padding
// (k − 1)/2, over channels-last data, for conv_weight_grad.cpp: dw[k][o][i] = Σ_n Σ_s dy[n][s][o] · x[n][s + offset(k)][i].
// The sum runs over samples and positions, so the dot products of AVX512-BF16 (vdpbf16ps: pairs of bfloat16 products
// added into float32 lanes) take their pairs along the batch: samples 2m and 2m + 1 at the same position, which no
// kernel offset ever separates. Each thread packs the planes it needs, pairs interleaved, into rows padded with zeros
// (x's rows and columns, dy's columns, by half the kernel) in its own scratch, which stays in its core's cache: with the
// same row length in both, one output plane of dy is a single contiguous run whose partner in each x plane, for each
// kernel offset, is a run shifted by a constant, so the products stream over whole planes instead of rows of 8–32
// positions. x planes are kept in a ring of kd slots, so moving to the next output plane packs one new x plane. The
// accumulation has input channels in its 16 lanes and one output channel's pair broadcast per product. Compiled for
// AVX512-BF16 alone (conv_weight_grad_kernels.cpp): call only where dt::kernels::avx512::supported()
// (norm_kernels_avx512.h). No ATen here.
#pragma once
#include <cstdint>

namespace dt::kernels::weight_grad {
// A stride-1 convolution whose output has the input's spatial size: n samples (`pairs()` pairs) of d × h × w positions,
// an odd kernel kd × kh × kw padded by half of it on each side, ic input and oc output channels. The work is in runs, one
// per (pair, output plane).
struct Geometry {
  int64_t n, d, h, w, kd, kh, kw, ic, oc;
  int64_t pairs() const { return (n + 1) / 2; }
  int64_t offsets() const { return kd * kh * kw; }
  int64_t runs() const { return pairs() * d; }
  // A packed row: w positions, then kw/2 zeros, which are also the left padding of the row after it; a run is h of them.
  int64_t row() const { return w + kw / 2; }
  int64_t run() const { return h * row(); }
  // A packed x plane, in 32-bit pairs: kw/2 zero positions, h + kh − 1 rows (the padding rows zero), kw/2 zero positions
  // (a run's first and last products read that far outside its rows, against zeros of dy).
  int64_t x_plane() const { return ((h + kh - 1) * row() + 2 * (kw / 2)) * ic; }
  // A thread's scratch, in 32-bit words: kd packed x planes and one packed dy plane.
  int64_t scratch() const { return kd * x_plane() + run() * oc; }
};

// Channel counts the accumulation serves: input channels in whole 16-lane vectors, output channels in blocks of 8.
bool supports(int64_t ic, int64_t oc);

// dw[k][o][i] += the products of runs [first, last) for every kernel offset k (kd, kh, kw order), o < oc, i < ic, in
// float32; where sums is not null, sums[o] += Σ dy[n][s][o] over those runs (the bias gradient). x (n, d, h, w, ic) and
// dy (n, d, h, w, oc) are channels-last bfloat16 as raw bits; scratch holds g.scratch() words, the thread's own.
void accumulate(const uint16_t* x, const uint16_t* dy, const Geometry& g, int64_t first, int64_t last, uint32_t* scratch,
                float* dw, float* sums);

// The gradients in the weight's own layout, rounded once to bfloat16: dw (oc, ic, kd, kh, kw) from `count` float32
// partial sums `stride` apart, each (offsets, oc, ic) and then oc bias sums; and, where db is not null, db (oc) from
// those bias sums.
void finish(const float* partials, int64_t count, int64_t stride, const Geometry& g, uint16_t* dw, uint16_t* db);
}  // namespace dt::kernels::weight_grad
