// Weight and bias gradients of bfloat16 3-D stride-1 "same" convolutions for the training steps, in place of oneDNN 2.6's
// backward-weights kernel (jit_bf16; oneDNN 2.6 offers no brgemm kernel for this pass, README, Performance item 17).
// dw[k][o][i] = Σ_n Σ_s dy[n][s][o] · x[n][s + offset(k)][i] sums over samples and positions, and AVX512-BF16's dot
// product sums pairs: here the pairs are samples 2m and 2m + 1 at the same position, which no kernel offset separates.
// The runs (one per sample pair and output plane) are split into one share per thread; each share packs the planes it
// needs, pairs interleaved, into its own scratch and accumulates into its own float32 gradient and bias sums
// (conv_weight_grad_kernels.cpp); the shares' sums are added and rounded once to bfloat16, as oneDNN's float32
// gradients were.
// Measured in the unet3d32 bf16 step (op profiler, three alternations): the convolution node's backward 49.6–51.8 ms
// against 53.1–54.8 with oneDNN's kernel; the weight gradients 25.1–26.3 ms against ~28.5. 2-D images stay with oneDNN:
// on unet28's step an earlier version of this kernel was no faster there (91.5 / 96.3 against 94.6 / 94.0 ms of
// convolution backward). Tested against float64 beside oneDNN (tests/Unit/Ops/PairedWeightGradientTests.cs).
#include "shim.h"
#include <ATen/record_function.h>
#include "conv_weight_grad.h"
#include "conv_common.h"
#include <ATen/Parallel.h>
#include "conv_weight_grad_kernels.h"
#include "norm_kernels_avx512.h"
#include <algorithm>
#include <atomic>

namespace {
namespace wg = dt::kernels::weight_grad;

// On unless DIFFUSION_PAIRED_WEIGHT_GRADIENTS=0; torch.set_paired_weight_gradients switches it for the process.
std::atomic<bool> switched_on{dt::on_unless_zero("DIFFUSION_PAIRED_WEIGHT_GRADIENTS")};
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
  TORCH_CHECK(bf16_channels_last_conv(x, w, b) && x.dim() == 5 && dy.scalar_type() == at::kBFloat16 &&
                  dy.is_contiguous(at::MemoryFormat::ChannelsLast3d) && dy.sizes().slice(2) == x.sizes().slice(2) && dy.size(1) == w.size(0),
              "conv_weight_grad: expected channels-last bfloat16 volumes x and dy of the same spatial size, and a bfloat16 weight of x's channels");
  const int64_t n = x.size(0), ic = w.size(1), oc = w.size(0);
  const wg::Geometry g{n, x.size(2), x.size(3), x.size(4), w.size(2), w.size(3), w.size(4), ic, oc};
  // The runs in one share per thread, each with its own packing scratch, float32 partial gradient and bias sums (indexed
  // by share, not by thread id, so a thread that runs several shares, or a nested call, stays correct).
  const int64_t weights = g.offsets() * oc * ic, shares = std::min<int64_t>(at::get_num_threads(), g.runs());
  const int64_t per_share = g.scratch() + weights + oc;
  auto scratch = at::empty({shares * per_share}, x.options().dtype(at::kInt));
  auto* base = reinterpret_cast<uint32_t*>(scratch.data_ptr<int32_t>());
  at::parallel_for(0, shares, 1, [&](int64_t first, int64_t last) {
    for (int64_t share = first; share < last; ++share) {
      uint32_t* own = base + share * per_share;
      auto* partial = reinterpret_cast<float*>(own + g.scratch());
      std::fill(partial, partial + weights + oc, 0.0f);
      wg::accumulate(bits(x), bits(dy), g, g.runs() * share / shares, g.runs() * (share + 1) / shares, own, partial,
                     b.defined() ? partial + weights : nullptr);
    }
  });
  auto dw = at::empty(w.sizes(), w.options().memory_format(at::MemoryFormat::Contiguous));
  auto db = b.defined() ? at::empty({oc}, b.options()) : at::Tensor();
  wg::finish(reinterpret_cast<float*>(base + g.scratch()), shares, per_share, g, bits_mut(dw), b.defined() ? bits_mut(db) : nullptr);
  return {dw, db};
}
}  // namespace dt

// Whether bf16 3-D stride-1 convolutions' weight gradients take the paired path (torch.paired_weight_gradients()), and its
// switch (torch.set_paired_weight_gradients).
DT_API int dt_paired_weight_gradients(int32_t* out) { DT_TRY(*out = dt::paired_weight_gradients_available()) }
DT_API int dt_set_paired_weight_gradients(int32_t on) { DT_TRY(dt::set_paired_weight_gradients(on != 0)) }
