// The weight gradient of a bfloat16 stride-1 "same" convolution (2-D or 3-D, odd kernel k, padding (k − 1)/2) over
// channels-last data, for conv_weight_grad.cpp: dw[k][o][i] = Σ_n Σ_s dy[n][s][o] · x[n][s + offset(k)][i].
// The sum runs over samples and positions, so the dot products of AVX512-BF16 (vdpbf16ps: pairs of bfloat16 products
// added into float32 lanes) take their pairs along the batch: samples 2m and 2m + 1 at the same position, which no
// kernel offset ever separates. pack interleaves them once per call, into rows padded with zeros: x's planes, rows and
// columns, dy's columns, by half the kernel. With the same row length in both, one output plane of dy is a single
// contiguous run whose partner in x, for each kernel offset, is a run of x shifted by a constant: the products stream
// over whole planes instead of rows of 8–32 positions. The accumulation has input channels in its 16 lanes and one
// output channel's pair broadcast per product. Compiled for AVX512-BF16 alone (conv_weight_grad_kernels.cpp): call only
// where dt::kernels::avx512::supported() (norm_kernels_avx512.h). No ATen here.
#pragma once
#include <cstdint>

namespace dt::kernels::weight_grad {
// A stride-1 convolution whose output has the input's spatial size: n samples (`pairs()` pairs) of d × h × w positions
// (d = 1 and kd = 1 for 2-D), an odd kernel kd × kh × kw padded by half of it on each side, ic input and oc output
// channels; and the packed layouts, in 32-bit sample pairs.
struct Geometry {
  int64_t n, d, h, w, kd, kh, kw, ic, oc;
  int64_t pairs() const { return (n + 1) / 2; }
  int64_t offsets() const { return kd * kh * kw; }
  // A packed row: w values, then kw/2 zeros, which are also the left padding of the row after it.
  int64_t row() const { return w + kw / 2; }
  // x packed: `margin` zeros, then (pairs, d + 2·(kd/2), h + 2·(kh/2)) rows, the padding rows and planes zero, then
  // `margin` zeros (a run's first and last products read that far outside the rows, against zeros of dy).
  int64_t margin() const { return kw / 2; }
  int64_t x_rows() const { return pairs() * (d + kd - 1) * (h + kh - 1); }
  int64_t x_size() const { return (x_rows() * row() + 2 * margin()) * ic; }
  // dy packed: (pairs, d, h) rows; one (pair, plane) is a run of h · row() positions.
  int64_t dy_rows() const { return pairs() * d * h; }
  int64_t dy_size() const { return dy_rows() * row() * oc; }
  int64_t runs() const { return pairs() * d; }
  int64_t run() const { return h * row(); }
};

// Channel counts the accumulation serves: input channels in whole 16-lane vectors, output channels in blocks of 8.
bool supports(int64_t ic, int64_t oc);

// Packed rows [first, last) of `in` (n, d, h, w, c) channels-last, sample pairs interleaved into 32 bits (the first
// sample in the low half; the second of an odd n's last pair zero): rows of (pairs, d + 2·pad_d, h + 2·pad_h), each
// w values and pad_w zeros, the rows of the padding planes and rows all zero. Where sums is not null, sums[c] += Σ in
// over the values packed, in float32 (the bias gradient, when `in` is dy).
struct Padding {
  int64_t d, h, w;
};
void pack(const uint16_t* in, const Geometry& g, int64_t c, const Padding& pad, int64_t first, int64_t last, uint32_t* out,
          float* sums);

// The blocks of runs that accumulate() splits the work into (runs() · blocks_per_run()).
int64_t blocks_per_run(const Geometry& g);

// dw[k][o][i] += the products over blocks [first, last) of packed x (at its first row, past the margin) and packed dy,
// for every kernel offset k (kd, kh, kw order), o < oc, i < ic; dw is float32.
void accumulate(const uint32_t* x, const uint32_t* dy, const Geometry& g, int64_t first, int64_t last, float* dw);
// The gradients in the weight's own layout, rounded once to bfloat16: dw (oc, ic, kd, kh, kw) or (oc, ic, kh, kw) from
// `count` float32 partial sums (offsets, oc, ic), `stride` apart; and, where sums is not null, db (oc) from `count`
// partial bias sums (oc), oc apart.
void finish(const float* partials, int64_t count, int64_t stride, const Geometry& g, uint16_t* dw, const float* sums, uint16_t* db);
}  // namespace dt::kernels::weight_grad
