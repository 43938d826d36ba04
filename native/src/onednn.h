// What the shim's oneDNN nodes (conv_onednn.cpp, linear_bf16.cpp) share: the CPU engine and views of ATen buffers as
// oneDNN memories. Only for translation units built with oneDNN's headers (DT_HAVE_DNNL).
#pragma once
#include <ATen/ATen.h>
#include <dnnl.hpp>

namespace dt::onednn {
using dnnl::memory;
using tag = memory::format_tag;
using dt_type = memory::data_type;

inline dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

inline memory::dims dims_of(at::IntArrayRef s) { return memory::dims(s.begin(), s.end()); }

// A memory over an ATen tensor's buffer (float32 or bfloat16) in a plain layout.
inline memory wrap(const at::Tensor& t, tag layout) {
  const auto type = t.scalar_type() == at::kFloat ? dt_type::f32 : dt_type::bf16;
  return memory({dims_of(t.sizes()), type, layout}, engine(), t.data_ptr());
}

// A memory of layout `want` on a buffer from ATen's allocator (the shim's caching one: no page faults in a loop that
// asks for the same sizes every step, where oneDNN's own allocation is a fresh malloc each time).
inline memory scratch(const memory::desc& want, at::Tensor& owner) {
  owner = at::empty({static_cast<int64_t>(want.get_size())}, at::TensorOptions().dtype(at::kByte));
  return memory(want, engine(), owner.data_ptr());
}
}  // namespace dt::onednn
