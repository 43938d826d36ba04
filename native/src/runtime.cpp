// Process-wide settings and facts: threads, version, devices, CPU capability.
#include "shim.h"
#include "gemm.h"
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

DT_API int dt_get_num_threads(int32_t* out) { DT_TRY(*out = at::get_num_threads()) }
DT_API int dt_set_num_threads(int32_t n) { DT_TRY(TORCH_CHECK(n > 0, "thread count must be positive, got ", n); at::set_num_threads(n)) }
DT_API int dt_get_num_interop_threads(int32_t* out) { DT_TRY(*out = at::get_num_interop_threads()) }
DT_API int dt_cuda_is_available(int32_t* out) { DT_TRY(*out = at::hasCUDA()) }
DT_API int dt_cuda_device_count(int32_t* out) { DT_TRY(*out = at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0) }
DT_API int dt_cuda_synchronize(int32_t device) { DT_TRY(if (at::hasCUDA()) at::detail::getCUDAHooks().deviceSynchronize(device)) }
DT_API int dt_version(char* buf, int32_t cap, int32_t* needed) {
  DT_TRY(dt::copy_out(std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                      std::to_string(TORCH_VERSION_PATCH), buf, cap, needed))
}
DT_API int dt_show_config(char* buf, int32_t cap, int32_t* needed) { DT_TRY(dt::copy_out(at::show_config(), buf, cap, needed)) }
DT_API int dt_parallel_info(char* buf, int32_t cap, int32_t* needed) { DT_TRY(dt::copy_out(at::get_parallel_info(), buf, cap, needed)) }
DT_API int dt_gemm_backend(char* buf, int32_t cap, int32_t* needed) { DT_TRY(dt::copy_out(dt::gemm_backend(), buf, cap, needed)) }
// How many threads an at::parallel_for compiled into the shim runs on: libtorch's intra-op count when the shim was
// built with OpenMP (ATen's OpenMP backend expands parallel_for to `#pragma omp parallel` in our own objects), 1 when
// it was not. The shim's kernels (activations.cpp, group_norm.cpp) parallelise through it.
DT_API int dt_kernel_threads(int32_t* out) {
  DT_TRY({
    std::atomic<int32_t> seen{0};
    const int64_t n = at::get_num_threads();
    std::vector<std::atomic<bool>> ran(static_cast<size_t>(n));
    at::parallel_for(0, n, 1, [&](int64_t, int64_t) {
      const auto id = static_cast<size_t>(at::get_thread_num());
      if (id < ran.size() && !ran[id].exchange(true)) seen.fetch_add(1);
    });
    *out = std::max<int32_t>(1, seen.load());
  })
}
