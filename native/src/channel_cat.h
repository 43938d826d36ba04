// Concatenation of channels-last activations along channels whose gradients come back contiguous (channel_cat.cpp): a
// U-Net decoder's torch.cat([h, skip], 1).
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Whether channel_cat serves at::cat(tensors, dim): dim 1 of 4-D or 5-D CPU tensors all stored channels-last, under
// autograd (without gradients ATen's cat is the same).
bool channel_cat_applies(at::TensorList tensors, int64_t dim);
// at::cat(tensors, 1) whose backward hands each input its gradient as a contiguous channels-last tensor.
at::Tensor channel_cat(at::TensorList tensors);
}  // namespace dt
