// bfloat16 3×3 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016): every 2×2 block of outputs (a tile) is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of the 4×4
// input patch d around it, so the 16 elementwise products, summed over input channels, are 16 matrix products
// (tiles × C) · (C × K): 16 multiply-adds per tile and channel pair where the direct convolution takes 36.
// oneDNN 2.6 has Winograd only for float32 (and deprecated it); its bfloat16 direct kernels run near the machine's bf16
// matmul peak, so at that peak the products here are the gain. Measured with Debian's PyTorch, two threads: the 16
// batched products of DDPM's 3×3 layers (b8, 32² and 16²) took 0.48–0.61 of their direct convolution's time.
// Per call: the weight's transform u (16, C, K) in the matmul's blocked layout, from the cache (WeightCache) or made
// once (winograd_kernels.cpp, then a reorder); then a chunk of tiles at a time (chunk_tiles), the input transform into
// (16, tiles, C) bf16, the 16 products on one cached oneDNN matmul (bf16 × bf16 → float32), and the output transform
// with the bias, rounded once to bf16. Only for forwards autograd does not record (sampling, evaluation): training keeps
// the direct kernel, whose backward matches its forward (README, Performance item 16).
// Numerics: Bᵀ and Aᵀ only add and subtract, G halves; the transformed input and weight are each rounded to bf16 once
// (the direct kernel rounds neither), the products accumulate in float32. Tested against float64 beside the direct
// kernel's own error (tests/Unit/Ops/WinogradTests.cs).
#include "shim.h"
#include <ATen/record_function.h>
#include "conv_winograd.h"
#include "conv_common.h"
#ifdef DT_HAVE_DNNL
#include <ATen/Parallel.h>
#include "onednn.h"
#include "norm_kernels_avx512.h"
#include "winograd_kernels.h"
#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

namespace {
using namespace dt::onednn;
namespace wk = dt::kernels::winograd;

// The 16 products of one chunk: (16, rows, c) · (16, c, k) → (16, rows, k), the transformed weight in the layout oneDNN
// prefers (blocked: reordered once per weight, weight_cache below). Each point's block of the transformed input and of
// the products ends in one cache line of padding: the transforms touch all 16 blocks at once, and blocks a power of two
// apart fall into the same cache sets (standalone, one thread, 2048 tiles of 128 channels in chunks of 512: the input
// transform took 0.93–1.03 ms unpadded, 0.26–0.37 ms padded; 256 channels 1.8 against 0.46–0.52 ms).
struct Product {
  int64_t rows, c, k;
  bool operator<(const Product& o) const { return std::tie(rows, c, k) < std::tie(o.rows, o.c, o.k); }
  int64_t input_plane() const { return rows * c + 32; }   // bf16 elements
  int64_t output_plane() const { return rows * k + 16; }  // float32 elements
  memory::desc input() const { return {{wk::points, rows, c}, dt_type::bf16, {input_plane(), c, 1}}; }
  memory::desc output() const { return {{wk::points, rows, k}, dt_type::f32, {output_plane(), k, 1}}; }
};

std::shared_ptr<const Matmul> matmul(const Product& p) {
  static PrimitiveCache<Product, Matmul> cache;
  return cache.get(p, [&] {
    const memory::desc u({wk::points, p.c, p.k}, dt_type::bf16, tag::any);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.input(), u, p.output()), engine());
    return Matmul{pd, dnnl::matmul(pd)};
  });
}

// Transformed weights, kept while their weight tensor lives unchanged (same tensor, same version counter): a sampling
// run or an evaluation reads the same bf16 weight copies at every step (Params.In), and transforming a weight costs
// about as much as a small convolution (16/9 of its size written through a reorder). Entries whose tensor has died are
// dropped at the next Winograd convolution, and past `capacity` bytes the least recently used go.
class WeightCache {
 public:
  template <class Make>
  at::Tensor get(const at::Tensor& w, const memory::desc& layout, Make make) {
    std::lock_guard<std::mutex> guard(lock_);
    for (auto it = entries_.begin(); it != entries_.end();) it = it->second.source.expired() ? drop(it) : std::next(it);
    // The weak reference keeps a dead tensor's TensorImpl allocated, so no other tensor can take its address while its
    // entry exists: an entry found under a live tensor's address is that tensor's.
    const auto* key = w.unsafeGetTensorImpl();
    const int64_t version = w._version();
    auto found = entries_.find(key);
    if (found != entries_.end() && found->second.version == version && found->second.layout == layout) {
      found->second.used = ++clock_;
      return found->second.buffer;
    }
    if (found != entries_.end()) drop(found);
    at::Tensor buffer = make();
    while (!entries_.empty() && bytes_ + buffer.nbytes() > capacity) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.used < oldest->second.used) oldest = it;
      drop(oldest);
    }
    bytes_ += buffer.nbytes();
    entries_.emplace(key, Entry{Weak(w.getIntrusivePtr()), version, layout, buffer, ++clock_});
    return buffer;
  }

 private:
  static constexpr int64_t capacity = int64_t{1} << 30;  // 1 GiB; the DDPM U-Net's 3x3 weights take ~105 MiB transformed
  using Weak = c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>;
  struct Entry {
    Weak source;
    int64_t version;
    memory::desc layout;
    at::Tensor buffer;
    uint64_t used;
  };
  using Entries = std::map<const c10::TensorImpl*, Entry>;
  Entries::iterator drop(Entries::iterator it) {
    bytes_ -= it->second.buffer.nbytes();
    return entries_.erase(it);
  }
  std::mutex lock_;
  Entries entries_;
  int64_t bytes_ = 0;
  uint64_t clock_ = 0;
};

WeightCache& weight_cache() {
  static WeightCache cache;
  return cache;
}

// w (K, C, 3, 3) transformed, G g Gᵀ, into the products' weight layout `layout`.
at::Tensor transformed_weight(const at::Tensor& w, const memory::desc& layout) {
  RECORD_USER_SCOPE("dt::winograd_weight");
  const int64_t k = w.size(0), c = w.size(1);
  auto plain = at::empty({wk::points, c, k}, w.options());
  at::parallel_for(0, c, 16, [&](int64_t first, int64_t last) {
    wk::weight_transform(dt::bits(w), k, c, w.stride(0), w.stride(1), w.stride(2), w.stride(3), first, last, dt::bits_mut(plain));
  });
  at::Tensor blocked;
  memory from = wrap(plain, tag::abc), to = scratch(layout, blocked);
  dnnl::stream s(engine());
  dnnl::reorder(from, to).execute(s, from, to);
  s.wait();
  return blocked;
}

// Tiles per chunk: the chunk's transformed input and products within 32 MiB; equal chunks (the last one padded with zero
// tiles), so that one matmul primitive and one weight layout serve them all. Measured on the DDPM forward (alternating
// runs): chunks of 2 and 4 MiB made its step 149–158 ms, 8 MiB 144–146, 16–64 MiB 126–141 (the larger products run
// faster, and outweigh the caches); 32 MiB bounds the scratch at larger images.
constexpr int64_t chunk_bytes = int64_t{32} << 20;

int64_t chunk_tiles(int64_t c, int64_t k, int64_t tiles) {
  const int64_t per_tile = wk::points * (c * 2 + k * 4);
  const int64_t most = std::max<int64_t>(16, chunk_bytes / per_tile);
  const int64_t chunks = (tiles + most - 1) / most;
  return (tiles + chunks - 1) / chunks;
}

// On unless DIFFUSION_WINOGRAD=0; torch.set_winograd switches it for the process.
std::atomic<bool> switched_on{dt::on_unless_zero("DIFFUSION_WINOGRAD")};
}  // namespace

namespace dt {
bool winograd_available() { return switched_on.load(std::memory_order_relaxed) && dt::kernels::avx512::supported(); }
void set_winograd(bool on) { switched_on.store(on, std::memory_order_relaxed); }

// Images of at least 8 × 8 (a 4 × 4 one has 4 tiles per image: too few rows for the products) over at least 128 input
// and output channels: the transforms move 16·(2C + 4K) bytes per tile for 16·C·K multiply-adds, so narrow layers are
// bound by the transforms. Measured: sampling unet28 (500 images, 10 steps; 64 channels at 28², 128 at 14²) took
// 5.7 s with its 64-channel layers on this path against 5.3 s without, and 5.3–5.6 s with only its 128-channel ones.
constexpr int64_t least_side = 8, least_channels = 128;

bool conv_winograd_applies(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad) {
  return winograd_available() && x.dim() == 4 && w.size(2) == 3 && w.size(3) == 3 && stride == 1 && pad == 1 && x.size(2) >= least_side &&
         x.size(3) >= least_side && w.size(0) >= least_channels && w.size(1) >= least_channels && !w.is_inference();
}

at::Tensor conv_winograd(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  RECORD_USER_SCOPE("dt::conv_winograd");  // named for the op profiler (profiler.cpp)
  at::internal::lazy_init_num_threads();    // oneDNN reads this thread's OpenMP thread count, which ATen sets lazily
  TORCH_CHECK(bf16_channels_last_conv(x, w, b) && x.dim() == 4 && w.size(2) == 3 && w.size(3) == 3,
              "conv_winograd: expected a bfloat16 channels-last 2-D input and a 3x3 bfloat16 weight");
  const int64_t c = x.size(1), k = w.size(0);
  const wk::Tiling g{x.size(0), x.size(2), x.size(3)};
  auto y = at::empty({g.n, k, g.h, g.w}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (g.n == 0) return y;  // no tiles, no chunks (an empty batch is plain-contiguous too, and goes to ATen before this)
  const int64_t tiles = g.tiles(), rows = chunk_tiles(c, k, tiles);
  const Product shape{rows, c, k};
  const auto held = matmul(shape);
  const auto& p = *held;
  const auto u = weight_cache().get(w, p.pd.weights_desc(), [&] { return transformed_weight(w, p.pd.weights_desc()); });
  const auto bias = b.defined() ? b.to(at::kFloat).contiguous() : at::Tensor();

  auto v = at::empty({wk::points * shape.input_plane()}, x.options());
  auto m = at::empty({wk::points * shape.output_plane()}, x.options().dtype(at::kFloat));
  dnnl::stream s(engine());
  for (int64_t start = 0; start < tiles; start += rows) {
    const int64_t count = std::min(rows, tiles - start);
    {
      RECORD_USER_SCOPE("dt::winograd_input");
      at::parallel_for(start, start + count, 8, [&](int64_t first, int64_t last) {
        wk::input_transform(bits(x), g, c, first, last, bits_mut(v) + (first - start) * c, shape.input_plane());
      });
      for (int64_t point = 0; point < wk::points && count < rows; ++point)  // the last chunk's padding tiles
        std::memset(bits_mut(v) + point * shape.input_plane() + count * c, 0, (rows - count) * c * sizeof(uint16_t));
    }
    p.primitive.execute(s, {{DNNL_ARG_SRC, memory(shape.input(), engine(), v.data_ptr())},
                            {DNNL_ARG_WEIGHTS, memory(p.pd.weights_desc(), engine(), u.data_ptr())},
                            {DNNL_ARG_DST, memory(shape.output(), engine(), m.data_ptr())}});
    s.wait();
    RECORD_USER_SCOPE("dt::winograd_output");
    at::parallel_for(start, start + count, 8, [&](int64_t first, int64_t last) {
      wk::output_transform(m.data_ptr<float>() + (first - start) * k, shape.output_plane(), g, k,
                           bias.defined() ? bias.data_ptr<float>() : nullptr, first, last, bits_mut(y));
    });
  }
  return y;
}
}  // namespace dt
#else
namespace dt {
bool winograd_available() { return false; }
void set_winograd(bool) {}
bool conv_winograd_applies(const at::Tensor&, const at::Tensor&, int64_t, int64_t) { return false; }
at::Tensor conv_winograd(const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  TORCH_CHECK(false, "the shim was built without oneDNN's headers (libdnnl-dev)");
}
}  // namespace dt
#endif

// Whether bf16 3x3 convolutions outside autograd take the Winograd path (torch.winograd()), and its switch
// (torch.set_winograd).
DT_API int dt_winograd(int32_t* out) { DT_TRY(*out = dt::winograd_available()) }
DT_API int dt_set_winograd(int32_t on) { DT_TRY(dt::set_winograd(on != 0)) }
