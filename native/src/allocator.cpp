// Keeps freed tensor buffers in the process. libtorch's CPU allocator is malloc; glibc serves blocks above its
// mmap threshold (128 KiB to start) with fresh mmaps and returns heap tops above its trim threshold to the kernel,
// so a training loop that frees and reallocates the same activations every step page-faults and zero-fills them
// every step (measured: ~20% of an MLP step, ~10% of a conv step). Raising both thresholds at load makes glibc
// reuse the blocks; resident memory then stays at the loop's peak instead of oscillating below it.
// DIFFUSION_MALLOC=default leaves glibc as it is.
#include "shim.h"
#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {
bool tune_malloc() {
#if defined(__GLIBC__)
  const char* choice = std::getenv("DIFFUSION_MALLOC");
  if (choice && std::strcmp(choice, "default") == 0) return false;
  constexpr int large = 1 << 30;  // 1 GiB: beyond any single activation we allocate per step
  return mallopt(M_MMAP_THRESHOLD, large) == 1 && mallopt(M_TRIM_THRESHOLD, large) == 1;
#else
  return false;
#endif
}

const bool malloc_tuned = tune_malloc();
}  // namespace

DT_API int dt_malloc_tuned(int32_t* out) { DT_TRY(*out = malloc_tuned ? 1 : 0) }
