// Nearest-neighbour ×2 upsampling of channels-last activations (upsample.cpp).
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Whether upsample_nearest2x serves x: a 4-D or 5-D float32/bfloat16 CPU tensor stored channels-last.
bool upsample_nearest2x_applies(const at::Tensor& x);
// x (N, C, *S) → (N, C, *2S), every element repeated over its 2×2 (2×2×2) block; channels-last in and out, autograd-aware.
// Only where upsample_nearest2x_applies (dt_interpolate asks first); anything else is an error.
at::Tensor upsample_nearest2x(const at::Tensor& x);
}  // namespace dt
