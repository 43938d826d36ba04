// The weight and bias gradients of bfloat16 3-D stride-1 "same" convolutions, with the batch paired into AVX512-BF16's
// dot products (conv_weight_grad.cpp), for the training steps' backward of the oneDNN convolution node (conv_onednn.cpp),
// in place of oneDNN 2.6's backward-weights kernel.
#pragma once
#include <ATen/ATen.h>
#include <tuple>

namespace dt {
// The CPU has AVX512-BF16 and the path is switched on (DIFFUSION_PAIRED_WEIGHT_GRADIENTS not 0,
// set_paired_weight_gradients).
bool paired_weight_gradients_available();
// For the whole process: off sends every weight gradient to oneDNN's kernel (tests and comparisons).
void set_paired_weight_gradients(bool on);

// Whether conv_weight_grad serves the weight gradient of a convolution conv_channels_last serves (conv_onednn.h): a
// volume (3-D), an odd kernel larger than 1, the same along every axis, at stride 1 and padding half of it; input
// channels a multiple of 16, output channels of 8; at least two samples; paired_weight_gradients_available().
bool conv_weight_grad_applies(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad);

// dw, of w's type and shape (plain-contiguous), and db, of b's type where b is defined (else undefined): from x (N, C, D, H, W)
// and dy (N, K, D, H, W), both channels-last bfloat16.
std::tuple<at::Tensor, at::Tensor> conv_weight_grad(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& w, const at::Tensor& b);
}  // namespace dt
