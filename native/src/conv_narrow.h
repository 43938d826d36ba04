// 3-D convolutions with at most 4 output channels (a volume U-Net's conv_out) on bfloat16 channels-last volumes, on the
// shim's row kernels (conv_narrow.cpp), where oneDNN 2.6 pads the outputs to 16 channels and runs at a 16th of its rate.
// Autograd-aware.
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Whether conv_narrow serves this convolution: bfloat16 CPU, a channels-last (N, D, H, W, C) input (or one channel), a
// plain or channels-last weight with at most 4 output channels, groups 1, stride 1, no dilation, the same padding on
// every side and dim, smaller than the kernel. Images stay on oneDNN (conv_narrow.cpp says why).
bool conv_narrow_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride, at::IntArrayRef padding,
                         at::IntArrayRef dilation, bool transposed, int64_t groups);
at::Tensor conv_narrow(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad);
}  // namespace dt
