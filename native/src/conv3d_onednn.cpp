// 3-D convolutions of bfloat16 volumes stored channels-last, (N, D, H, W, C), on oneDNN directly. ATen 1.13's
// mkldnn_convolution has no channels-last path for 3-D ("TODO: add channels last 3d support"), so it reorders every
// NCDHW activation into oneDNN's blocked layout and the result back, forward and backward (16 % of a unet3d32 bf16
// step, README, Performance); oneDNN itself reads ndhwc as it is. Primitives are built once per shape and cached (their
// JIT compilation costs milliseconds). Needs oneDNN's headers (Debian's libdnnl-dev, the same oneDNN libtorch loads);
// without them, or with DIFFUSION_CONV3D=aten, ATen serves. Double backward goes through ATen's convolution_backward.
#include "shim.h"
#include <ATen/record_function.h>
#include "conv3d_onednn.h"
#ifdef DT_HAVE_DNNL
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <dnnl.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

namespace {
using dnnl::memory;
using tag = memory::format_tag;
using dt_type = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

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

memory::dims dims_of(at::IntArrayRef s) { return memory::dims(s.begin(), s.end()); }

const Primitives& primitives(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad, bool bias) {
  static std::mutex lock;
  static std::map<Key, std::unique_ptr<Primitives>> cache;
  Key key{x.sizes().vec(), w.sizes().vec(), stride, pad, bias};
  std::lock_guard<std::mutex> guard(lock);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  memory::dims out{x.size(0), w.size(0)}, strides(3, stride), pad_l(3, pad), pad_r(3);
  for (int d = 0; d < 3; ++d) {
    const int64_t in = x.size(2 + d), k = w.size(2 + d);
    const int64_t o = (in + 2 * pad - k) / stride + 1;
    out.push_back(o);
    pad_r[d] = (o - 1) * stride + k - in - pad;
  }
  const memory::desc src(dims_of(x.sizes()), dt_type::bf16, tag::ndhwc), dst(out, dt_type::bf16, tag::ndhwc);
  const memory::desc wei(dims_of(w.sizes()), dt_type::bf16, tag::any);
  const memory::desc b = bias ? memory::desc({w.size(0)}, dt_type::bf16, tag::a) : memory::desc();
  const auto algo = dnnl::algorithm::convolution_direct;
  auto fwd_pd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, src, wei, b, dst, strides, pad_l, pad_r), engine());
  auto data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(algo, src, wei, dst, strides, pad_l, pad_r), engine(), fwd_pd);
  auto weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(algo, src, wei, b, dst, strides, pad_l, pad_r), engine(), fwd_pd);
  auto p = std::make_unique<Primitives>(Primitives{fwd_pd, data_pd, weights_pd, dnnl::convolution_forward(fwd_pd),
                                                   dnnl::convolution_backward_data(data_pd),
                                                   dnnl::convolution_backward_weights(weights_pd)});
  return *cache.emplace(std::move(key), std::move(p)).first->second;
}

void* ptr(const at::Tensor& t) { return t.data_ptr(); }

// A memory over an ATen tensor's buffer (plain layouts) and, for weights, the reorder into what a primitive wants.
memory wrap(const at::Tensor& t, tag layout) { return memory({dims_of(t.sizes()), dt_type::bf16, layout}, engine(), ptr(t)); }

memory reordered(dnnl::stream& s, const memory& from, const memory::desc& want) {
  if (from.get_desc() == want) return from;
  memory to(want, engine());
  dnnl::reorder(from, to).execute(s, const_cast<memory&>(from), to);
  return to;
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad) {
  RECORD_USER_SCOPE("dt::conv3d_channels_last");  // named for the op profiler (profiler.cpp)
  at::internal::lazy_init_num_threads();  // oneDNN reads this thread's OpenMP thread count, which ATen sets lazily
  const auto& p = primitives(x, w, stride, pad, b.defined());
  const auto out = p.fwd_pd.dst_desc().dims();
  auto y = at::empty(at::IntArrayRef(out.data(), out.size()), x.options().memory_format(at::MemoryFormat::ChannelsLast3d));
  dnnl::stream s(engine());
  auto weights = reordered(s, wrap(w, tag::oidhw), p.fwd_pd.weights_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x, tag::ndhwc)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, wrap(y, tag::ndhwc)}};
  if (b.defined()) args.emplace(DNNL_ARG_BIAS, wrap(b, tag::a));
  p.fwd.execute(s, args);
  s.wait();
  return y;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Conv3dChannelsLast : public torch::autograd::Function<Conv3dChannelsLast> {
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
    const auto dy = grads[0].to(at::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast3d);
    if (at::GradMode::is_enabled()) {  // create_graph: ATen's differentiable convolution_backward
      auto g = at::convolution_backward(dy, x, w, b.defined() ? c10::optional<at::IntArrayRef>(b.sizes()) : c10::nullopt,
                                        {stride, stride, stride}, {pad, pad, pad}, {1, 1, 1}, false, {0, 0, 0}, 1,
                                        {x.requires_grad(), w.requires_grad(), b.defined() && b.requires_grad()});
      return {std::get<0>(g), std::get<1>(g), std::get<2>(g), {}, {}};
    }
    at::internal::lazy_init_num_threads();
    const auto& p = primitives(x, w, stride, pad, b.defined());
    dnnl::stream s(engine());
    at::Tensor dx, dw, db;
    if (x.requires_grad()) {
      dx = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::ChannelsLast3d));
      auto weights = reordered(s, wrap(w, tag::oidhw), p.data_pd.weights_desc());
      p.data.execute(s, {{DNNL_ARG_DIFF_DST, wrap(dy, tag::ndhwc)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, wrap(dx, tag::ndhwc)}});
    }
    if (w.requires_grad() || (b.defined() && b.requires_grad())) {
      dw = at::empty(w.sizes(), w.options());
      auto user = wrap(dw, tag::oidhw);
      const bool direct = p.weights_pd.diff_weights_desc() == user.get_desc();
      memory diff_weights = direct ? user : memory(p.weights_pd.diff_weights_desc(), engine());
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x, tag::ndhwc)}, {DNNL_ARG_DIFF_DST, wrap(dy, tag::ndhwc)},
                                           {DNNL_ARG_DIFF_WEIGHTS, diff_weights}};
      if (b.defined()) {
        db = at::empty(b.sizes(), b.options());
        args.emplace(DNNL_ARG_DIFF_BIAS, wrap(db, tag::a));
      }
      p.weights.execute(s, args);
      if (!direct) dnnl::reorder(diff_weights, user).execute(s, diff_weights, user);
    }
    s.wait();
    return {dx, w.requires_grad() ? dw : at::Tensor(), b.defined() && b.requires_grad() ? db : at::Tensor(), {}, {}};
  }
};

bool enabled() {
  static const bool on = [] {
    const char* choice = std::getenv("DIFFUSION_CONV3D");
    return !(choice && std::strcmp(choice, "aten") == 0);
  }();
  return on;
}
}  // namespace

namespace dt {
bool conv3d_channels_last_available() { return enabled(); }

bool conv3d_channels_last_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                                  at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed, int64_t groups) {
  auto uniform = [](at::IntArrayRef v) { return v.size() == 3 && v[0] == v[1] && v[1] == v[2]; };
  return enabled() && !transposed && groups == 1 && x.dim() == 5 && w.dim() == 5 && x.device().is_cpu() &&
         x.scalar_type() == at::kBFloat16 && w.scalar_type() == at::kBFloat16 && (!b.defined() || b.scalar_type() == at::kBFloat16) &&
         x.is_contiguous(at::MemoryFormat::ChannelsLast3d) && (!x.is_contiguous() || x.size(1) == 1) && w.is_contiguous() && x.size(1) == w.size(1) &&
         uniform(stride) && uniform(padding) && uniform(dilation) && dilation[0] == 1;
}

at::Tensor conv3d_channels_last(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t stride, int64_t pad) {
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  if (grad) return Conv3dChannelsLast::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, stride, pad);
  return forward_impl(x, w, b, stride, pad);
}
}  // namespace dt
#else
namespace dt {
bool conv3d_channels_last_available() { return false; }

bool conv3d_channels_last_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::IntArrayRef, at::IntArrayRef,
                                  at::IntArrayRef, bool, int64_t) {
  return false;
}
at::Tensor conv3d_channels_last(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t) {
  TORCH_CHECK(false, "the shim was built without oneDNN's headers (libdnnl-dev)");
}
}  // namespace dt
#endif

// Whether bf16 channels-last 3-D convolutions run on oneDNN directly (torch.conv3d_channels_last()).
DT_API int dt_conv3d_channels_last(int32_t* out) { DT_TRY(*out = dt::conv3d_channels_last_available()) }
