// bfloat16 3×3 convolutions by Winograd's minimal filtering, F(2×2, 3×3) (conv_winograd.cpp), for forwards that autograd
// does not record (sampling, evaluation): 2.25× fewer multiplications than the direct convolution.
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Built with oneDNN's headers, on a CPU with AVX512-BF16 (the transforms' ISA), and switched on (DIFFUSION_WINOGRAD not
// 0, set_winograd).
bool winograd_available();
// For the whole process: off sends these convolutions to the direct kernel (tests and comparisons).
void set_winograd(bool on);

// Whether conv_winograd serves a convolution that conv_channels_last serves (conv_onednn.h) and autograd does not
// record: 2-D, a 3×3 kernel at stride 1 and padding 1, enough channels and positions for it to pay (conv_winograd.cpp),
// and winograd_available().
bool conv_winograd_applies(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad);

// y (N, K, H, W) channels-last bfloat16 from x (N, C, H, W) channels-last bfloat16, w (K, C, 3, 3) plain or
// channels-last bfloat16, b (K) bfloat16 or undefined.
at::Tensor conv_winograd(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);
}  // namespace dt
