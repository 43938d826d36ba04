// What the shim's oneDNN nodes (conv_onednn.cpp, linear_bf16.cpp, conv_winograd.cpp) share: the CPU engine, views of
// ATen buffers as oneDNN memories, and the bounded cache of their primitives. Only for translation units built with
// oneDNN's headers (DT_HAVE_DNNL).
#pragma once
#include <ATen/ATen.h>
#include <dnnl.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

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

// A memory of layout `want` on a buffer from ATen's allocator (the shim's caching allocator, like every other buffer
// of a step, rather than a malloc of oneDNN's), which `owner` holds.
inline memory scratch(const memory::desc& want, at::Tensor& owner) {
  owner = at::empty({static_cast<int64_t>(want.get_size())}, at::TensorOptions().dtype(at::kByte));
  return memory(want, engine(), owner.data_ptr());
}

// A matmul primitive with its descriptor (which says the layouts it chose, e.g. a blocked weight), as the caches keep it.
struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

// Primitives built once per shape and kept (their JIT compilation costs milliseconds), up to `capacity` shapes as
// oneDNN's own primitive cache (1024 by default): past that the least recently used goes, so a process that meets ever
// new shapes (a server, a sampler with ragged batches) holds bounded memory. A caller still running an evicted
// primitive keeps it alive through its shared_ptr.
template <class Key, class Value>
class PrimitiveCache {
 public:
  explicit PrimitiveCache(size_t capacity = 1024) : capacity_(capacity) {}

  template <class Make>
  std::shared_ptr<const Value> get(const Key& key, Make make) {
    std::lock_guard<std::mutex> guard(lock_);
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      found->second.used = ++clock_;
      return found->second.value;
    }
    if (entries_.size() >= capacity_) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.used < oldest->second.used) oldest = it;
      entries_.erase(oldest);
    }
    auto value = std::make_shared<const Value>(make());
    entries_.emplace(key, Entry{value, ++clock_});
    return value;
  }

 private:
  struct Entry {
    std::shared_ptr<const Value> value;
    uint64_t used;
  };
  std::mutex lock_;
  std::map<Key, Entry> entries_;
  uint64_t clock_ = 0;
  size_t capacity_;
};
}  // namespace dt::onednn
