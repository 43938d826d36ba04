// Tensor lifetime, metadata, creation and copies between .NET memory and tensors.
#include "shim.h"
#include <atomic>
#include <cstring>

namespace {
thread_local std::string last_error;
std::atomic<int64_t> live_tensors{0};
}  // namespace

namespace dt {
void set_error(const char* message) { last_error = message ? message : ""; }

TensorH wrap(at::Tensor&& t) {
  auto* h = new at::Tensor(std::move(t));
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return h;
}

at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<at::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index)));
}

std::vector<at::Tensor> list(const TensorH* ts, int32_t n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int32_t k = 0; k < n; ++k) v.push_back(*ts[k]);
  return v;
}
}  // namespace dt

DT_API const char* dt_last_error() { return last_error.c_str(); }
DT_API int64_t dt_live_tensors() { return live_tensors.load(std::memory_order_relaxed); }

DT_API void dt_free(TensorH t) {
  if (!t) return;
  delete t;  // destructors of at::Tensor do not throw
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

// ---- metadata ----
DT_API int dt_dim(TensorH t, int64_t* out) { DT_TRY(*out = t->dim()) }
DT_API int dt_sizes(TensorH t, int64_t* out, int32_t cap) {
  DT_TRY(auto s = t->sizes(); for (int32_t k = 0; k < cap && k < (int32_t)s.size(); ++k) out[k] = s[k])
}
DT_API int dt_strides(TensorH t, int64_t* out, int32_t cap) {
  DT_TRY(auto s = t->strides(); for (int32_t k = 0; k < cap && k < (int32_t)s.size(); ++k) out[k] = s[k])
}
DT_API int dt_dtype(TensorH t, int32_t* out) { DT_TRY(*out = static_cast<int32_t>(t->scalar_type())) }
DT_API int dt_device(TensorH t, int32_t* type, int32_t* index) {
  DT_TRY(*type = static_cast<int32_t>(t->device().type()); *index = t->device().index())
}
DT_API int dt_numel(TensorH t, int64_t* out) { DT_TRY(*out = t->numel()) }
DT_API int dt_is_contiguous(TensorH t, int32_t* out) { DT_TRY(*out = t->is_contiguous()) }
// format: c10::MemoryFormat's value (0 contiguous, 2 channels-last, 3 channels-last 3-D), as the C# MemoryFormat enum.
DT_API int dt_is_contiguous_as(TensorH t, int32_t format, int32_t* out) {
  DT_TRY(*out = t->is_contiguous(static_cast<at::MemoryFormat>(format)))
}
DT_API int dt_data_ptr(TensorH t, void** out) { DT_TRY(*out = t->data_ptr()) }
DT_API int dt_item_double(TensorH t, double* out) { DT_TRY(*out = t->item<double>()) }
DT_API int dt_item_long(TensorH t, int64_t* out) { DT_TRY(*out = t->item<int64_t>()) }

// ---- creation ----
#define DT_OPTS dt::options(dtype, device_type, device_index)
DT_API int dt_empty(const int64_t* shape, int32_t n, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::empty(dt::ints(shape, n), DT_OPTS)))
}
DT_API int dt_zeros(const int64_t* shape, int32_t n, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::zeros(dt::ints(shape, n), DT_OPTS)))
}
DT_API int dt_ones(const int64_t* shape, int32_t n, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::ones(dt::ints(shape, n), DT_OPTS)))
}
DT_API int dt_full(const int64_t* shape, int32_t n, DtScalar value, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::full(dt::ints(shape, n), dt::scalar(value), DT_OPTS)))
}
DT_API int dt_arange(DtScalar start, DtScalar end, DtScalar step, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::arange(dt::scalar(start), dt::scalar(end), dt::scalar(step), DT_OPTS)))
}
DT_API int dt_linspace(double start, double end, int64_t steps, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::linspace(start, end, steps, DT_OPTS)))
}
DT_API int dt_eye(int64_t n, int64_t m, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::eye(n, m, DT_OPTS)))
}
DT_API int dt_scalar_tensor(DtScalar value, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::scalar_tensor(dt::scalar(value), DT_OPTS)))
}

// One copy from .NET memory straight into a fresh tensor's storage.
DT_API int dt_from_buffer(const void* data, int64_t nbytes, const int64_t* shape, int32_t n, int32_t dtype, TensorH* out) {
  DT_TRY(
      auto t = at::empty(dt::ints(shape, n), at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
      TORCH_CHECK(static_cast<int64_t>(t.nbytes()) == nbytes, "buffer holds ", nbytes, " bytes but shape ", t.sizes(),
                  " of ", t.scalar_type(), " needs ", t.nbytes());
      if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
      *out = dt::wrap(std::move(t)))
}

// One copy from a tensor (any device, layout or stride) into .NET memory.
DT_API int dt_to_buffer(TensorH t, void* data, int64_t nbytes) {
  DT_TRY(
      auto c = t->detach().to(at::kCPU).contiguous();
      TORCH_CHECK(static_cast<int64_t>(c.nbytes()) == nbytes, "destination holds ", nbytes, " bytes but the tensor has ", c.nbytes());
      if (nbytes > 0) std::memcpy(data, c.data_ptr(), static_cast<size_t>(nbytes)))
}

// ---- conversion ----
DT_API int dt_to(TensorH t, int32_t dtype, int32_t device_type, int32_t device_index, int32_t copy, TensorH* out) {
  DT_TRY(*out = dt::wrap(t->to(DT_OPTS, /*non_blocking=*/false, copy != 0)))
}
DT_API int dt_contiguous(TensorH t, TensorH* out) { DT_TRY(*out = dt::wrap(t->contiguous())) }
DT_API int dt_contiguous_as(TensorH t, int32_t format, TensorH* out) {
  DT_TRY(
      const auto f = static_cast<at::MemoryFormat>(format);
      TORCH_CHECK(f != at::MemoryFormat::ChannelsLast || t->dim() == 4, "contiguous: channels-last needs a 4-D tensor (N, C, H, W), got ", t->sizes());
      TORCH_CHECK(f != at::MemoryFormat::ChannelsLast3d || t->dim() == 5, "contiguous: channels-last 3-D needs a 5-D tensor (N, C, D, H, W), got ", t->sizes());
      *out = dt::wrap(t->contiguous(f)))
}
DT_API int dt_clone(TensorH t, TensorH* out) { DT_TRY(*out = dt::wrap(t->clone())) }
DT_API int dt_alias(TensorH t, TensorH* out) { DT_TRY(*out = dt::wrap(*t)) }
