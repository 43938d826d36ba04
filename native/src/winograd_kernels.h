// The transforms of the Winograd convolution F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016, eq. 8: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A), for conv_winograd.cpp: each 2×2 block of outputs ("tile") of a
// 3×3, stride-1, padding-1 convolution is read from the 4×4 input patch around it. The 16 elementwise products over all
// tiles are 16 matrix products, tiles × C by C × K, which oneDNN runs; these kernels move data into and out of them.
// bfloat16 as raw bits, float32 arithmetic, channels the vector lanes (channels-last data). Compiled for AVX512-BF16 alone
// (winograd_kernels.cpp): call only where dt::kernels::avx512::supported() (norm_kernels_avx512.h). No ATen here.
#pragma once
#include <cstdint>

namespace dt::kernels::winograd {
constexpr int64_t points = 16;  // the 4×4 transformed patch

// An image batch in tiles: n images of h × w positions (channels-last), ceil(h/2) × ceil(w/2) tiles each, numbered
// image-major, then row, then column.
struct Tiling {
  int64_t n, h, w;
  int64_t tile_rows() const { return (h + 1) / 2; }
  int64_t tile_cols() const { return (w + 1) / 2; }
  int64_t tiles() const { return n * tile_rows() * tile_cols(); }
};

// v[p·plane + (t − first)·c + ch] = (Bᵀ d B)[p] for tiles t in [first, last), d the 4×4 patch of x (n, h, w, c) whose
// top-left corner is (2i − 1, 2j − 1) for tile (i, j), zero outside the image.
void input_transform(const uint16_t* x, const Tiling& g, int64_t c, int64_t first, int64_t last, uint16_t* v, int64_t plane);

// y (n, h, w, k) over tiles [first, last) from m[p·plane + (t − first)·k + ch]: Aᵀ m A, plus bias (k values, or nullptr),
// rounded once; output positions past the image's edge (odd h or w) are not written.
void output_transform(const float* m, int64_t plane, const Tiling& g, int64_t k, const float* bias, int64_t first, int64_t last,
                      uint16_t* y);

// u[p][c][k] = (G g Gᵀ)[p] for input channels [c_first, c_last) of weight g (k, c, 3, 3), read through element strides
// (so plain (K, C, 3, 3) and channels-last (K, 3, 3, C) weights both serve).
void weight_transform(const uint16_t* g, int64_t k, int64_t c, int64_t stride_k, int64_t stride_c, int64_t stride_row,
                      int64_t stride_col, int64_t c_first, int64_t c_last, uint16_t* u);
}  // namespace dt::kernels::winograd
