// Seeded CPU generators and the random ops that take them. Random tensors for other
// devices are drawn on the CPU and moved, so a seed gives the same numbers everywhere.
#include "shim.h"
#include <ATen/CPUGeneratorImpl.h>

DT_API int dt_generator_new(uint64_t seed, GeneratorH* out) {
  DT_TRY(*out = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed)))
}
DT_API void dt_generator_free(GeneratorH g) { delete g; }
DT_API int dt_generator_seed(GeneratorH g, uint64_t* out) { DT_TRY(*out = g->current_seed()) }
DT_API int dt_generator_manual_seed(GeneratorH g, uint64_t seed) {
  DT_TRY(std::lock_guard<std::mutex> lock(g->mutex()); g->set_current_seed(seed))
}
DT_API int dt_generator_get_state(GeneratorH g, TensorH* out) {
  DT_TRY(std::lock_guard<std::mutex> lock(g->mutex()); *out = dt::wrap(g->get_state()))
}
DT_API int dt_generator_set_state(GeneratorH g, TensorH state) {
  DT_TRY(std::lock_guard<std::mutex> lock(g->mutex()); g->set_state(*state))
}

namespace {
at::Tensor on_device(at::Tensor&& t, int32_t device_type, int32_t device_index) {
  auto device = at::Device(static_cast<at::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index));
  return device.is_cpu() ? std::move(t) : t.to(device);
}
}  // namespace

#define DT_CPU_OPTS at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype))
DT_API int dt_rand(const int64_t* shape, int32_t n, GeneratorH g, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(on_device(at::rand(dt::ints(shape, n), dt::gen(g), DT_CPU_OPTS), device_type, device_index)))
}
DT_API int dt_randn(const int64_t* shape, int32_t n, GeneratorH g, int32_t dtype, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(on_device(at::randn(dt::ints(shape, n), dt::gen(g), DT_CPU_OPTS), device_type, device_index)))
}
DT_API int dt_randint(int64_t low, int64_t high, const int64_t* shape, int32_t n, GeneratorH g, int32_t dtype,
                      int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(on_device(at::randint(low, high, dt::ints(shape, n), dt::gen(g), DT_CPU_OPTS), device_type, device_index)))
}
DT_API int dt_randperm(int64_t n, GeneratorH g, int32_t device_type, int32_t device_index, TensorH* out) {
  DT_TRY(*out = dt::wrap(on_device(at::randperm(n, dt::gen(g), at::TensorOptions().dtype(at::kLong)), device_type, device_index)))
}
DT_API int dt_bernoulli(TensorH p, GeneratorH g, TensorH* out) { DT_TRY(*out = dt::wrap(at::bernoulli(*p, dt::gen(g)))) }
DT_API int dt_uniform_(TensorH t, double from, double to, GeneratorH g) {
  DT_TRY(if (t->is_cpu()) t->uniform_(from, to, dt::gen(g));
         else t->copy_(at::empty(t->sizes(), t->options().device(at::kCPU)).uniform_(from, to, dt::gen(g))))
}
DT_API int dt_normal_(TensorH t, double mean, double std, GeneratorH g) {
  DT_TRY(if (t->is_cpu()) t->normal_(mean, std, dt::gen(g));
         else t->copy_(at::empty(t->sizes(), t->options().device(at::kCPU)).normal_(mean, std, dt::gen(g))))
}
