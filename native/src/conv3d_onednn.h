// bfloat16 3-D convolutions on channels-last volumes through oneDNN directly (conv3d_onednn.cpp), where ATen 1.13 would
// reorder every activation into oneDNN's blocked layout and back. Autograd-aware.
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Built with oneDNN's headers and not switched off (DIFFUSION_CONV3D=aten).
bool conv3d_channels_last_available();

// Whether conv3d_channels_last serves this convolution: bfloat16 CPU, channels-last 3-D input (a one-channel volume is
// both layouts at once, and counts), groups 1, cubic stride and padding, no dilation, the shim built with oneDNN's
// headers and DIFFUSION_CONV3D not set to "aten".
bool conv3d_channels_last_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                                  at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed, int64_t groups);
at::Tensor conv3d_channels_last(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad);
}  // namespace dt
