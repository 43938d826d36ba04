// Shared conventions of the shim. Every exported function returns a status code
// (0 ok, 1 libtorch/C++ error, 2 out of memory) and writes results through
// out-parameters; the message of the last failure on this thread is read with
// dt_last_error(). No exception may cross into .NET, so every body runs in DT_TRY.
#pragma once
#include <ATen/ATen.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#define DT_API extern "C" __attribute__((visibility("default")))

typedef at::Tensor* TensorH;
typedef at::Generator* GeneratorH;

// A scalar crossing the boundary keeps its kind, so `int_tensor + 2` stays integral.
struct DtScalar {
  double d;
  int64_t i;
  int32_t kind;  // 0 double, 1 int64, 2 bool
};

namespace dt {
void set_error(const char* message);

// Copies a string into a caller's buffer (cut to fit, NUL-terminated); *needed is the size the whole string takes.
inline int copy_out(const std::string& s, char* buf, int32_t cap, int32_t* needed) {
  *needed = static_cast<int32_t>(s.size()) + 1;
  if (buf && cap > 0) {
    const size_t n = std::min(static_cast<size_t>(cap - 1), s.size());
    std::memcpy(buf, s.data(), n);
    buf[n] = 0;
  }
  return 0;
}
TensorH wrap(at::Tensor&& t);
inline TensorH wrap(const at::Tensor& t) { return wrap(at::Tensor(t)); }
inline at::Scalar scalar(DtScalar s) {
  return s.kind == 1 ? at::Scalar(s.i) : s.kind == 2 ? at::Scalar(s.i != 0) : at::Scalar(s.d);
}
inline at::IntArrayRef ints(const int64_t* p, int32_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline c10::optional<at::Tensor> opt(TensorH t) {
  return t ? c10::optional<at::Tensor>(*t) : c10::nullopt;
}
inline at::Tensor or_undefined(TensorH t) { return t ? *t : at::Tensor(); }
inline c10::optional<at::Generator> gen(GeneratorH g) {
  return g ? c10::optional<at::Generator>(*g) : c10::nullopt;
}
at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index);
std::vector<at::Tensor> list(const TensorH* ts, int32_t n);

// The channels-last memory format of a 4-D (N, C, H, W) or 5-D (N, C, D, H, W) tensor.
inline at::MemoryFormat channels_last_format(int64_t dims) {
  return dims == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
}
// A 4-D or 5-D float32 or bfloat16 CPU tensor stored channels-last — and not plain contiguous as well, as one with a
// single channel or position is — which the shim's row kernels (a position's C channels contiguous) take.
inline bool stored_channels_last(const at::Tensor& x) {
  return (x.dim() == 4 || x.dim() == 5) && x.device().is_cpu() && x.layout() == at::kStrided &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && x.is_contiguous(channels_last_format(x.dim())) &&
         !x.is_contiguous();
}
// Whether autograd records an op on these inputs: grad mode on and some defined input requiring grad. The shim's
// autograd functions take this path; without it they run their forward alone.
template <class... Tensors>
bool records_grad(const Tensors&... inputs) {
  return at::GradMode::is_enabled() && ((inputs.defined() && inputs.requires_grad()) || ...);
}
// The starting state of a process-wide switch of the shim's own kernels: on unless the environment variable `name` is
// "0" (DIFFUSION_WINOGRAD, DIFFUSION_PAIRED_WEIGHT_GRADIENTS); tests and comparisons flip it at run time.
inline bool on_unless_zero(const char* name) {
  const char* choice = std::getenv(name);
  return !(choice && std::strcmp(choice, "0") == 0);
}
// A bfloat16 tensor's elements as raw bits (bf16.h), for the shim's row kernels; data_ptr<BFloat16> checks the type.
inline const uint16_t* bits(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); }
inline uint16_t* bits_mut(const at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }
// Calls f with t's elements as float* or, for bfloat16, as raw bits (uint16_t*, bf16.h), for the shim's row kernels.
template <class F>
void with_bits(const at::Tensor& t, F f) {
  if (t.scalar_type() == at::kBFloat16) f(bits_mut(t));
  else f(t.data_ptr<float>());
}
}  // namespace dt

#define DT_CATCH                                                     \
  catch (const c10::OutOfMemoryError& e) {                           \
    dt::set_error(e.what_without_backtrace());                       \
    return 2;                                                        \
  }                                                                  \
  catch (const c10::Error& e) {                                      \
    dt::set_error(e.what_without_backtrace());                       \
    return 1;                                                        \
  }                                                                  \
  catch (const std::bad_alloc&) {                                    \
    dt::set_error("out of memory (std::bad_alloc)");                 \
    return 2;                                                        \
  }                                                                  \
  catch (const std::exception& e) {                                  \
    dt::set_error(e.what());                                         \
    return 1;                                                        \
  }                                                                  \
  catch (...) {                                                      \
    dt::set_error("unknown native error");                           \
    return 1;                                                        \
  }

#define DT_TRY(...) \
  try {             \
    __VA_ARGS__;    \
    return 0;       \
  }                 \
  DT_CATCH
