// A channels-last activation plus a per-sample, per-channel term broadcast over its positions (channel_add.cpp): a
// ResBlock's h + emb[:, :, None, None].
#pragma once
#include <ATen/ATen.h>

namespace dt {
// Whether channel_add serves a + b: a a 4-D or 5-D float32/bfloat16 CPU tensor stored channels-last, b of a's type and
// shape (N, C, 1, ...) (in either order).
bool channel_add_applies(const at::Tensor& a, const at::Tensor& b);
// a + b, as at::add computes it (one rounding of the float32 sum), channels-last out; autograd-aware. Only where
// channel_add_applies (dt_binary asks first); anything else is an error.
at::Tensor channel_add(const at::Tensor& a, const at::Tensor& b);
}  // namespace dt
