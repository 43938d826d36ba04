// bfloat16 2-D and 3-D convolutions on channels-last activations through oneDNN directly (conv_onednn.cpp), where ATen
// 1.13 reorders every 3-D activation into oneDNN's blocked layout and back, and takes slower kernels for 2-D ones.
// Autograd-aware.
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Built with oneDNN's headers and not switched off (DIFFUSION_CONV=aten).
bool conv_channels_last_available();

// Whether conv_channels_last serves this convolution: bfloat16 CPU, a 2-D (N, H, W, C) or 3-D (N, D, H, W, C)
// channels-last input (a one-channel input is both layouts at once, and counts), a plain or channels-last weight, groups
// 1, one stride and one padding for every dim, no dilation, the shim built with oneDNN's headers and DIFFUSION_CONV not
// set to "aten".
bool conv_channels_last_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                                at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed, int64_t groups);
at::Tensor conv_channels_last(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad);
}  // namespace dt
