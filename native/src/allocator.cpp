// CPU tensor memory. libtorch's CPU allocator is glibc malloc, which maps blocks above its mmap threshold (128 KiB to
// start) afresh and returns heap tops to the kernel: a loop that frees and reallocates the same activations every step
// page-faults and zero-fills them every step (measured: ~20% of an MLP step, ~10% of a conv step). Raising glibc's
// thresholds stops that but leaves the large buffers in the brk heap among small long-lived allocations (autograd
// nodes, tensor headers) that fragment it: a DiT training run grew its heap by 3% between steps 100 and 300 and kept
// creeping for 10,000 steps.
//
// So buffers of 128 KiB and more get a caching allocator of their own, as PyTorch's CUDA tensors have: page-aligned
// anonymous mappings that, once freed, wait in a cache for the next request of their size class. A step that repeats
// the previous step's sizes maps nothing new, so the footprint of a loop is fixed after its first steps; blocks left
// unused far longer than reused ones ever wait are unmapped, and torch.cpu.empty_cache() unmaps every cached block.
// Smaller buffers stay with glibc, its thresholds raised. DIFFUSION_MALLOC=default keeps libtorch's allocator.
#include "shim.h"
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {
constexpr size_t kLarge = 128 << 10;  // glibc's own default mmap threshold
constexpr size_t kPage = 4096;
constexpr size_t kSmallAlignment = 64;  // what c10's default CPU allocator gives

struct Stats {
  int64_t allocated = 0, reserved = 0, peak_allocated = 0, peak_reserved = 0, maps = 0, unmaps = 0, reuses = 0;
};

class LargeBlockCache {
 public:
  void* take(size_t bytes) {
    TORCH_CHECK_WITH(OutOfMemoryError, bytes <= (SIZE_MAX >> 1), "CPU allocator: you tried to allocate ", bytes,
                     " bytes, more than the address space holds.");
    size_t size = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    ++clock_;
    void* data = reuse(size);
    if (data) {
      ++stats_.reuses;
    } else {
      unmap_stale();
      data = map(size);
      if (!data) {  // out of memory or address space: give everything cached back and try once more
        while (!by_age_.empty()) unmap_oldest();
        data = map(size);
      }
      TORCH_CHECK_WITH(OutOfMemoryError, data, "CPU allocator: not enough memory: you tried to allocate ", bytes,
                       " bytes (", stats_.allocated, " bytes in use).");
      blocks_[data] = {size, true, 0};
      stats_.reserved += static_cast<int64_t>(size);
      stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
    }
    stats_.allocated += static_cast<int64_t>(size);
    stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
    return data;
  }

  // False when `data` is not a live block of this cache.
  bool give_back(void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blocks_.find(data);
    if (it == blocks_.end() || !it->second.live) return false;
    Block& block = it->second;
    block.live = false;
    block.cached_at = ++clock_;
    stats_.allocated -= static_cast<int64_t>(block.size);
    by_size_.emplace(block.size, block.cached_at, data);
    by_age_.emplace(block.cached_at, data);
    return true;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!by_age_.empty()) unmap_oldest();
  }

  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  // Sizes round up to classes an eighth of a power of two apart (at most 12.5% larger; the untouched tail of a block
  // costs address space, not resident memory), so tensors of nearly equal size share blocks.
  static size_t size_class(size_t bytes) {
    size_t step = std::max(kPage, (size_t{1} << (63 - __builtin_clzll(bytes))) / 8);
    return (bytes + step - 1) / step * step;
  }

  // The most recently cached block of the class: its pages are the likeliest to still be in the CPU's caches.
  void* reuse(size_t size) {
    auto it = by_size_.lower_bound({size + 1, 0, nullptr});
    if (it == by_size_.begin() || std::get<0>(*std::prev(it)) != size) return nullptr;
    auto [_, cached_at, data] = *--it;
    by_size_.erase(it);
    by_age_.erase(cached_at);
    longest_wait_ = std::max(longest_wait_, clock_ - cached_at);
    blocks_[data].live = true;
    return data;
  }

  // On a miss, unmaps blocks that have waited more than twice as long as any block ever waited before being reused:
  // a loop reuses its blocks every iteration, so these belong to shapes that are gone (an earlier batch size, say).
  void unmap_stale() {
    uint64_t horizon = std::max<uint64_t>(kMinHorizon, 2 * longest_wait_);
    while (!by_age_.empty() && clock_ - by_age_.begin()->first > horizon) unmap_oldest();
  }

  void unmap_oldest() {
    auto [cached_at, data] = *by_age_.begin();
    size_t size = blocks_[data].size;
    by_age_.erase(by_age_.begin());
    by_size_.erase({size, cached_at, data});
    blocks_.erase(data);
    munmap(data, size);
    stats_.reserved -= static_cast<int64_t>(size);
    ++stats_.unmaps;
  }

  void* map(size_t size) {
    void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) return nullptr;
    ++stats_.maps;
    return data;
  }

  struct Block {
    size_t size;
    bool live;
    uint64_t cached_at;
  };

  static constexpr uint64_t kMinHorizon = 1 << 16;  // events (allocations and frees) a cached block may wait at least

  std::mutex mutex_;
  std::unordered_map<void*, Block> blocks_;  // every mapped block, live or cached
  std::set<std::tuple<size_t, uint64_t, void*>> by_size_;  // cached: (size, cached_at, data)
  std::map<uint64_t, void*> by_age_;                       // cached, oldest first
  uint64_t clock_ = 0;                                     // counts allocations and frees
  uint64_t longest_wait_ = 0;
  Stats stats_;
};

// Never destroyed: tensors may be freed during static destruction, after this file's statics are gone.
LargeBlockCache& cache() {
  static auto* instance = new LargeBlockCache();
  return *instance;
}

void release_large(void* data) { cache().give_back(data); }

// oneDNN's buffers come through raw_allocate/raw_deallocate, which carry no size: look the block up.
void release_any(void* data) {
  if (data && !cache().give_back(data)) std::free(data);
}

void* allocate_small(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* data = nullptr;
  TORCH_CHECK_WITH(OutOfMemoryError, posix_memalign(&data, kSmallAlignment, bytes) == 0 && data,
                   "CPU allocator: not enough memory: you tried to allocate ", bytes, " bytes.");
  return data;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes < kLarge) {
      void* data = allocate_small(bytes);
      return {data, data, &std::free, cpu};
    }
    void* data = cache().take(bytes);
    return {data, data, &release_large, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }
};

bool install() {
  const char* choice = std::getenv("DIFFUSION_MALLOC");
  if (choice && std::strcmp(choice, "default") == 0) return false;
#if defined(__GLIBC__)
  // Small buffers and libtorch's own allocations: keep freed heap in the process as well.
  constexpr int large = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, large);
  mallopt(M_TRIM_THRESHOLD, large);
#endif
  static auto* allocator = new CachingCpuAllocator();  // never destroyed, like the cache
  c10::SetCPUAllocator(allocator, /*priority=*/1);      // above c10's default (0)
  return c10::GetCPUAllocator() == allocator;
}

const bool installed = install();
}  // namespace

DT_API int dt_cpu_caching_allocator(int32_t* out) { DT_TRY(*out = installed ? 1 : 0) }

// allocated, reserved, peak allocated, peak reserved (bytes), maps, unmaps, reuses: blocks of 128 KiB and more.
DT_API int dt_cpu_memory_stats(int64_t* out) {
  DT_TRY(Stats s = cache().stats(); int64_t v[] = {s.allocated, s.reserved, s.peak_allocated, s.peak_reserved, s.maps,
                                                   s.unmaps, s.reuses};
         std::memcpy(out, v, sizeof v))
}

DT_API int dt_cpu_empty_cache() { DT_TRY(cache().empty()) }
