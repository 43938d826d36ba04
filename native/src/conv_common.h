// What the shim's two convolution nodes (conv_onednn.cpp, conv_narrow.cpp) share: the tensors both take, and the
// differentiable backward both hand double backward (create_graph) to.
#pragma once
#include "shim.h"
#include <tuple>
#include <vector>

namespace dt {
// bfloat16 CPU input, weight and bias (if any); the input stored channels-last, (N, H, W, C) or (N, D, H, W, C) (a
// one-channel input is both layouts at once, and counts); the weight plain or channels-last; their channels agreeing.
inline bool bf16_channels_last_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const auto format = channels_last_format(x.dim());
  return x.device().is_cpu() && x.scalar_type() == at::kBFloat16 && w.scalar_type() == at::kBFloat16 &&
         (!b.defined() || b.scalar_type() == at::kBFloat16) && x.is_contiguous(format) && (!x.is_contiguous() || x.size(1) == 1) &&
         (w.is_contiguous() || w.is_contiguous(format)) && x.size(1) == w.size(1);
}

// dx, dw, db (each for the inputs that require grad) by ATen's convolution_backward, which is itself differentiable:
// with create_graph the gradients must be.
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> differentiable_conv_backward(const at::Tensor& dy, const at::Tensor& x,
                                                                                   const at::Tensor& w, const at::Tensor& b,
                                                                                   int64_t stride, int64_t pad) {
  const size_t spatial = x.dim() - 2;
  const std::vector<int64_t> strides(spatial, stride), pads(spatial, pad), ones(spatial, 1), zeros(spatial, 0);
  return at::convolution_backward(dy, x, w, b.defined() ? c10::optional<at::IntArrayRef>(b.sizes()) : c10::nullopt, strides, pads,
                                  ones, false, zeros, 1, {x.requires_grad(), w.requires_grad(), b.defined() && b.requires_grad()});
}
}  // namespace dt
