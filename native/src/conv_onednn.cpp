// bfloat16 convolutions of channels-last activations, (N, H, W, C) or (N, D, H, W, C), on oneDNN directly.
// 3-D: ATen 1.13's mkldnn_convolution has no channels-last path ("TODO: add channels last 3d support"), so it reorders
// every NCDHW activation into oneDNN's blocked layout and the result back, forward and backward (16 % of a unet3d32
// bf16 step, README, Performance); oneDNN itself reads ndhwc as it is.
// 2-D: ATen reads nhwc, but takes the implementations oneDNN lists first, and those are not the fastest here. Measured
// in the training steps themselves (ONEDNN_VERBOSE, median time per primitive, two threads; a standalone loop over one
// primitive ranked them differently, so it was not trusted): on unet28's 3x3 layers the plain JIT forward (jit_bf16)
// took 8-23 % less time than brgconv, and backward-weights accumulating into float32 weight gradients 5-12 % less than
// into bfloat16 ones. On unet3d32's 32³ layers brgconv stayed the faster forward (by 9-18 %), on its 16³ and 8³ ones
// jit_bf16 was (preferred_forward), and float32 weight gradients gained 2-4 %. 1x1 and strided layers were slower with
// float32 gradients in the standalone loop (too small to see in the step), so they keep bfloat16 ones. The choices are
// fixed rules from those measurements, not timed at run time: the same shapes always take the same kernels, run after
// run. Primitives are built once per shape and cached (PrimitiveCache, onednn.h). Needs oneDNN's headers
// (Debian's libdnnl-dev, the same oneDNN libtorch loads); without them, or with DIFFUSION_CONV=aten, ATen serves.
// Double backward goes through ATen's convolution_backward.
#include "shim.h"
#include <ATen/record_function.h>
#include "conv_onednn.h"
#include "conv_common.h"
#include "conv_weight_grad.h"
#include "conv_winograd.h"
#ifdef DT_HAVE_DNNL
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include "onednn.h"
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace {
using namespace dt::onednn;

// One shape's primitives: forward, backward data and backward weights (with bias when the conv has one).
struct Primitives {
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data data;
  dnnl::convolution_backward_weights weights;
};

using Key = std::tuple<std::vector<int64_t>, std::vector<int64_t>, int64_t, int64_t, bool>;  // x, w sizes, stride, pad, bias

// The activations' channels-last layout of a 2-D or 3-D convolution (x.dim() 4 or 5), as oneDNN names it (ATen's name:
// dt::channels_last_format, shim.h).
tag channels_last(int64_t dim) { return dim == 4 ? tag::nhwc : tag::ndhwc; }

// A weight as the caller stores it: plain (O, I, k...) or channels-last (O, k..., I) — a bf16 2-D conv's weight is cast
// into channels-last once per step for ATen's path (Params.Compute), and a 1x1 kernel is both.
tag weight_layout(const at::Tensor& w) {
  if (w.is_contiguous()) return w.dim() == 4 ? tag::oihw : tag::oidhw;
  return w.dim() == 4 ? tag::ohwi : tag::odhwi;
}

// Rule from measurement (file comment): float32 weight gradients for kernels larger than 1x1 at stride 1 over more than
// one input channel; bfloat16 ones otherwise.
bool float32_weight_gradients(const at::Tensor& w, int64_t stride) { return stride == 1 && w.size(2) > 1 && w.size(1) > 1; }

// A 2-D forward takes the plain JIT kernel (jit_bf16) where oneDNN offers it; so does a 3-D one with at most 16³ output
// positions per sample, and a larger volume oneDNN's first choice (brgconv). Measured per layer in the unet3d32 step
// (ONEDNN_VERBOSE medians): at 32³ brgconv took 9–18 % less time than jit_bf16, at 16³ and 8³ jit_bf16 took 5–24 % less
// on six of seven layers. Not jit_bf16's 1x1 variant, jit_bf16_1x1, which oneDNN lists before it for 1x1 kernels: in
// oneDNN 2.6 that one computes 3-D convolutions over an odd number of input channels wrong (relative error ~1 against
// oneDNN's reference kernel, checked for 1, 3, 5 and 17 channels; the 2-D ones and every other kernel agreed).
constexpr int64_t small_volume = 16 * 16 * 16;

dnnl::convolution_forward::primitive_desc preferred_forward(const dnnl::convolution_forward::desc& d, const memory::dims& out) {
  dnnl::convolution_forward::primitive_desc first(d, engine()), pd = first;
  int64_t positions = 1;
  for (size_t k = 2; k < out.size(); ++k) positions *= out[k];
  if (out.size() == 5 && positions > small_volume) return first;
  do {
    if (std::string(pd.impl_info_str()).rfind("jit_bf16:", 0) == 0) return pd;
  } while (pd.next_impl());
  return first;
}

Primitives make_primitives(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad, bool bias) {
  const int64_t spatial = x.dim() - 2;
  memory::dims out{x.size(0), w.size(0)}, strides(spatial, stride), pad_l(spatial, pad), pad_r(spatial);
  for (int64_t d = 0; d < spatial; ++d) {
    const int64_t in = x.size(2 + d), k = w.size(2 + d);
    const int64_t o = (in + 2 * pad - k) / stride + 1;
    out.push_back(o);
    pad_r[d] = (o - 1) * stride + k - in - pad;
  }
  const auto layout = channels_last(x.dim());
  const memory::desc src(dims_of(x.sizes()), dt_type::bf16, layout), dst(out, dt_type::bf16, layout);
  const memory::desc wei(dims_of(w.sizes()), dt_type::bf16, tag::any);
  const memory::desc b = bias ? memory::desc({w.size(0)}, dt_type::bf16, tag::a) : memory::desc();
  const auto gradient_type = float32_weight_gradients(w, stride) ? dt_type::f32 : dt_type::bf16;
  const memory::desc diff_wei(dims_of(w.sizes()), gradient_type, tag::any);
  const memory::desc diff_b = bias ? memory::desc({w.size(0)}, gradient_type, tag::a) : memory::desc();
  const auto algo = dnnl::algorithm::convolution_direct;
  // Named: a primitive_desc's implementation iterator reads its op desc, which must outlive preferred_forward's walk.
  const dnnl::convolution_forward::desc fwd_desc(dnnl::prop_kind::forward_training, algo, src, wei, b, dst, strides, pad_l, pad_r);
  auto fwd_pd = preferred_forward(fwd_desc, out);
  auto data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(algo, src, wei, dst, strides, pad_l, pad_r), engine(), fwd_pd);
  auto weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(algo, src, diff_wei, diff_b, dst, strides, pad_l, pad_r), engine(), fwd_pd);
  return Primitives{fwd_pd, data_pd, weights_pd, dnnl::convolution_forward(fwd_pd), dnnl::convolution_backward_data(data_pd),
                    dnnl::convolution_backward_weights(weights_pd)};
}

std::shared_ptr<const Primitives> primitives(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad, bool bias) {
  static PrimitiveCache<Key, Primitives> cache;
  return cache.get(Key{x.sizes().vec(), w.sizes().vec(), stride, pad, bias}, [&] { return make_primitives(x, w, stride, pad, bias); });
}

// The weight in the layout a primitive wants (a reorder when that is not the caller's).
memory weights_for(dnnl::stream& s, const at::Tensor& w, const memory::desc& want) {
  const memory from = wrap(w, weight_layout(w));
  if (from.get_desc() == want) return from;
  memory to(want, engine());
  dnnl::reorder(from, to).execute(s, const_cast<memory&>(from), to);
  return to;
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad) {
  RECORD_USER_SCOPE("dt::conv_channels_last");  // named for the op profiler (profiler.cpp)
  at::internal::lazy_init_num_threads();  // oneDNN reads this thread's OpenMP thread count, which ATen sets lazily
  const auto held = primitives(x, w, stride, pad, b.defined());
  const auto& p = *held;
  const auto out = p.fwd_pd.dst_desc().dims();
  const auto layout = channels_last(x.dim());
  auto y = at::empty(at::IntArrayRef(out.data(), out.size()), x.options().memory_format(dt::channels_last_format(x.dim())));
  dnnl::stream s(engine());
  auto weights = weights_for(s, w, p.fwd_pd.weights_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x, layout)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, wrap(y, layout)}};
  if (b.defined()) args.emplace(DNNL_ARG_BIAS, wrap(b, tag::a));
  p.fwd.execute(s, args);
  s.wait();
  return y;
}

// dw and db (either may be undefined) from oneDNN's backward-weights primitive, in the weight's own type and layout.
std::tuple<at::Tensor, at::Tensor> weight_gradients(dnnl::stream& s, const Primitives& p, const at::Tensor& x, const at::Tensor& dy,
                                                    const at::Tensor& w, const at::Tensor& b) {
  const auto layout = channels_last(x.dim());
  const auto gradient_type = p.weights_pd.diff_weights_desc().data_type() == dt_type::f32 ? at::kFloat : at::kBFloat16;
  auto dw = at::empty(w.sizes(), w.options().dtype(gradient_type));
  auto user = wrap(dw, weight_layout(dw));
  const bool direct = p.weights_pd.diff_weights_desc() == user.get_desc();
  memory diff_weights = direct ? user : memory(p.weights_pd.diff_weights_desc(), engine());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x, layout)}, {DNNL_ARG_DIFF_DST, wrap(dy, layout)},
                                       {DNNL_ARG_DIFF_WEIGHTS, diff_weights}};
  at::Tensor db;
  if (b.defined()) {
    db = at::empty(b.sizes(), b.options().dtype(gradient_type));
    args.emplace(DNNL_ARG_DIFF_BIAS, wrap(db, tag::a));
  }
  p.weights.execute(s, args);
  if (!direct) dnnl::reorder(diff_weights, user).execute(s, diff_weights, user);
  s.wait();
  // Rounded once to the weight's type: autograd wants a gradient of its input's type (the float32 master's gradient
  // comes from the cast's backward).
  return {dw.to(w.scalar_type()), b.defined() ? db.to(b.scalar_type()) : db};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ConvChannelsLast : public torch::autograd::Function<ConvChannelsLast> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
                            int64_t stride, int64_t pad) {
    const auto bias = b.value_or(at::Tensor());
    ctx->save_for_backward({x, w, bias});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["pad"] = pad;
    return forward_impl(x, w, bias, stride, pad);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &b = saved[2];
    const int64_t stride = ctx->saved_data["stride"].toInt(), pad = ctx->saved_data["pad"].toInt();
    const auto dy = grads[0].to(at::kBFloat16).contiguous(dt::channels_last_format(x.dim()));
    if (at::GradMode::is_enabled()) {  // create_graph
      auto g = dt::differentiable_conv_backward(dy, x, w, b, stride, pad);
      return {std::get<0>(g), std::get<1>(g), std::get<2>(g), {}, {}};
    }
    at::internal::lazy_init_num_threads();
    const auto held = primitives(x, w, stride, pad, b.defined());
    const auto& p = *held;
    dnnl::stream s(engine());
    at::Tensor dx, dw, db;
    if (x.requires_grad()) {
      const auto layout = channels_last(x.dim());
      dx = at::empty(x.sizes(), x.options().memory_format(dt::channels_last_format(x.dim())));
      auto weights = weights_for(s, w, p.data_pd.weights_desc());
      p.data.execute(s, {{DNNL_ARG_DIFF_DST, wrap(dy, layout)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, wrap(dx, layout)}});
      s.wait();
    }
    if (w.requires_grad() || (b.defined() && b.requires_grad()))
      std::tie(dw, db) = dt::conv_weight_grad_applies(x, w, stride, pad) ? dt::conv_weight_grad(x, dy, w, b) : weight_gradients(s, p, x, dy, w, b);
    return {dx, w.requires_grad() ? dw : at::Tensor(), b.defined() && b.requires_grad() ? db : at::Tensor(), {}, {}};
  }
};

bool enabled() {
  static const bool on = [] {
    const char* choice = std::getenv("DIFFUSION_CONV");
    return !(choice && std::strcmp(choice, "aten") == 0);
  }();
  return on;
}
}  // namespace

namespace dt {
bool conv_channels_last_available() { return enabled(); }

bool conv_channels_last_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                                at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed, int64_t groups) {
  if (!enabled() || transposed || groups != 1 || (x.dim() != 4 && x.dim() != 5) || w.dim() != x.dim()) return false;
  const size_t spatial = x.dim() - 2;
  auto uniform = [spatial](at::IntArrayRef v) { return v.size() == spatial && std::equal(v.begin() + 1, v.end(), v.begin()); };
  return bf16_channels_last_conv(x, w, b) && uniform(stride) && uniform(padding) && uniform(dilation) && dilation[0] == 1;
}

at::Tensor conv_channels_last(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad) {
  if (records_grad(x, w, b)) return ConvChannelsLast::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride, pad);
  if (conv_winograd_applies(x, w, stride, pad)) return conv_winograd(x, w, b);
  return forward_impl(x, w, b, stride, pad);
}
}  // namespace dt
#else
namespace dt {
bool conv_channels_last_available() { return false; }

bool conv_channels_last_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::IntArrayRef, at::IntArrayRef,
                                at::IntArrayRef, bool, int64_t) {
  return false;
}
at::Tensor conv_channels_last(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t) {
  TORCH_CHECK(false, "the shim was built without oneDNN's headers (libdnnl-dev)");
}
}  // namespace dt
#endif

// Whether bf16 channels-last 2-D and 3-D convolutions run on oneDNN directly (torch.conv_channels_last()).
DT_API int dt_conv_channels_last(int32_t* out) { DT_TRY(*out = dt::conv_channels_last_available()) }
