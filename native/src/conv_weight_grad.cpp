// Weight and bias gradients of bfloat16 stride-1 "same" convolutions for the training steps, in place of oneDNN 2.6's
// backward-weights kernel (jit_bf16), which ran unet3d32's 3×3×3 layers at 440–550 GFLOP/s against a bf16 matmul peak
// of ~957 (ONEDNN_VERBOSE medians in the step; its forward and backward-data ran the same layers at 550–960).
// dw[k][o][i] = Σ_n Σ_s dy[n][s][o] · x[n][s + offset(k)][i] sums over samples and positions, and AVX512-BF16's dot
// product sums pairs: here the pairs are samples 2m and 2m + 1 at the same position, which no kernel offset separates,
// so both tensors are interleaved in pairs once (pack_pairs; the bias gradient's sums come with dy's) and every product
// then reads them in place (conv_weight_grad_kernels.cpp). Each thread accumulates its rows into its own float32
// gradient; the threads' sums are added, and rounded once to the weight's type, as oneDNN's float32 gradients were.
// Standalone, two threads, pack and sum included (the 16³ and 8³ layers of unet3d32, and its 32³ ones):
// 2 × 16 → 16 at 32³ 1.5–1.8 ms against oneDNN's 1.9, 32 → 32 at 32³ 5.1–5.4 against 7.1, 48 → 16 3.6–3.7 against 6.2,
// 32 → 32 at 16³ 0.58–0.61 against 0.83. Tested against float64 (tests/Unit/Ops/PairedWeightGradientTests.cs).
#include "shim.h"
#include <ATen/record_function.h>
#include "conv_weight_grad.h"
#include <ATen/Parallel.h>
#include "conv_weight_grad_kernels.h"
#include "norm_kernels_avx512.h"
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <algorithm>

namespace {
namespace wg = dt::kernels::weight_grad;

// On unless DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0; torch.set_paired_weight_gradients switches it for the process.
std::atomic<bool> switched_on{[] {
  const char* choice = std::getenv("DIFFUSION_PAIRED_WEIGHT_GRADIENTS");
  return !(choice && std::strcmp(choice, "0") == 0);
}()};

// Rows per pack task: enough work per task to amortise a task's setup.
constexpr int64_t pack_grain = 16;
}  // namespace

namespace dt {
bool paired_weight_gradients_available() { return switched_on.load(std::memory_order_relaxed) && dt::kernels::avx512::supported(); }
void set_paired_weight_gradients(bool on) { switched_on.store(on, std::memory_order_relaxed); }

bool conv_weight_grad_applies(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad) {
  if (!paired_weight_gradients_available() || x.dim() != 5 || stride != 1 || x.size(0) < 2 || !wg::supports(w.size(1), w.size(0))) return false;
  for (int64_t d = 2; d < w.dim(); ++d)
    if (w.size(d) != 2 * pad + 1 || w.size(d) == 1) return false;
  return true;
}

std::tuple<at::Tensor, at::Tensor> conv_weight_grad(const at::Tensor& x, const at::Tensor& dy, const at::Tensor& w, const at::Tensor& b) {
  RECORD_USER_SCOPE("dt::conv_weight_grad");  // named for the op profiler (profiler.cpp)
  TORCH_CHECK(w.scalar_type() == at::kBFloat16 && (!b.defined() || b.scalar_type() == at::kBFloat16), "conv_weight_grad: expected a bfloat16 weight and bias");
  const int64_t n = x.size(0), ic = w.size(1), oc = w.size(0);
  const auto format = at::MemoryFormat::ChannelsLast3d;
  TORCH_CHECK(x.dim() == 5 && x.scalar_type() == at::kBFloat16 && dy.scalar_type() == at::kBFloat16 && x.is_contiguous(format) && dy.is_contiguous(format) &&
                  x.sizes().slice(2) == dy.sizes().slice(2) && dy.size(1) == oc && x.size(1) == ic,
              "conv_weight_grad: expected channels-last bfloat16 volumes x and dy of the same spatial size");
  const wg::Geometry g{n, x.size(2), x.size(3), x.size(4), w.size(2), w.size(3), w.size(4), ic, oc};
  const int64_t weights = g.offsets() * oc * ic, threads = at::get_num_threads(), margin = g.margin() * ic;
  // Scratch: packed x, packed dy, and each thread's float32 partial gradients and bias sums.
  auto scratch = at::empty({g.x_size() + g.dy_size() + threads * (weights + oc)}, x.options().dtype(at::kInt));
  auto* xw = reinterpret_cast<uint32_t*>(scratch.data_ptr<int32_t>());
  uint32_t* yw = xw + g.x_size();
  auto* partials = reinterpret_cast<float*>(yw + g.dy_size());
  float* sums = partials + threads * weights;
  std::fill(partials, partials + threads * (weights + oc), 0.0f);
  std::fill(xw, xw + margin, 0u);
  std::fill(xw + g.x_size() - margin, xw + g.x_size(), 0u);
  const wg::Padding x_pad{g.kd / 2, g.kh / 2, g.kw / 2}, dy_pad{0, 0, g.kw / 2};
  at::parallel_for(0, g.x_rows(), pack_grain, [&](int64_t first, int64_t last) { wg::pack(bits(x), g, ic, x_pad, first, last, xw + margin, nullptr); });
  at::parallel_for(0, g.dy_rows(), pack_grain, [&](int64_t first, int64_t last) {
    wg::pack(bits(dy), g, oc, dy_pad, first, last, yw, b.defined() ? sums + at::get_thread_num() * oc : nullptr);
  });
  at::parallel_for(0, g.runs() * wg::blocks_per_run(g), 1, [&](int64_t first, int64_t last) {
    wg::accumulate(xw + margin, yw, g, first, last, partials + at::get_thread_num() * weights);
  });
  auto dw = at::empty(w.sizes(), w.options().memory_format(at::MemoryFormat::Contiguous));
  auto db = b.defined() ? at::empty({oc}, b.options()) : at::Tensor();
  wg::finish(partials, threads, weights, g, bits_mut(dw), b.defined() ? sums : nullptr, b.defined() ? bits_mut(db) : nullptr);
  return {dw, db};
}
}  // namespace dt

// Whether stride-1 bf16 convolutions' weight gradients take the paired path (torch.paired_weight_gradients()), and its
// switch (torch.set_paired_weight_gradients).
DT_API int dt_paired_weight_gradients(int32_t* out) { DT_TRY(*out = dt::paired_weight_gradients_available()) }
DT_API int dt_set_paired_weight_gradients(int32_t on) { DT_TRY(dt::set_paired_weight_gradients(on != 0)) }
