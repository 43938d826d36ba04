// 3-D convolutions with few output channels (at most 4) on bfloat16 channels-last volumes: a volume U-Net's conv_out,
// which maps its features to the 1 or 3 channels of the volume. oneDNN 2.6 pads the output channels of these to a block
// of 16 and runs them at a 16th of its rate: in a unet3d32 bf16 step conv_out's forward ran at 38 GFLOP/s, its weight
// gradient at 32 and its input gradient at 116 — 3.8 ms per step for 0.2 GFLOP of work (ONEDNN_VERBOSE). Here each
// output row of positions is computed from the kernel's input rows with the channels as the vector lanes
// (conv_narrow_kernels.cpp), in float32, stride 1, any kernel size and uniform padding: 2.1 ms per unet3d32 step, all
// three passes. Images are left to oneDNN, whose 2-D kernels do better on these layers: unet28's conv_out (32 → 1
// channels) took the same time both ways, DDPM's (128 → 3) less on oneDNN (0.53 against 0.77 ms). Double backward goes
// through ATen's convolution_backward.
#include "shim.h"
#include <ATen/record_function.h>
#include "conv_narrow.h"
#include "conv_common.h"
#include "conv_narrow_kernels.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <mutex>
#include <vector>

namespace {
constexpr int64_t most_outputs = 4;

using dt::bits;
using dt::bits_mut;

// The convolution as rows of positions: input (N, D, H, W, C), output (N, OD, OH, OW, O).
struct Rows {
  int64_t n, depth, height, out_depth, out_height, kernel_depth, kernel_height;
  dt::kernels::Geometry g;

  Rows(const at::Tensor& x, const at::Tensor& w, int64_t pad) {
    kernel_depth = w.size(2);
    kernel_height = w.size(3);
    n = x.size(0);
    depth = x.size(2);
    height = x.size(3);
    out_depth = depth + 2 * pad - kernel_depth + 1;
    out_height = height + 2 * pad - kernel_height + 1;
    const int64_t width = x.size(4), kw = w.size(4);
    g = {kernel_depth * kernel_height, kw, pad, width, width + 2 * pad - kw + 1, x.size(1), w.size(0)};
  }

  int64_t out_rows() const { return n * out_depth * out_height; }
  int64_t in_rows() const { return n * depth * height; }
  int64_t out_row_size() const { return g.out_width * g.outputs; }
};

// x as float32 rows with zeros around: (N, D + 2·pad, H + 2·pad, padded_width, padded C), x at offset pad in each dim.
// The kernels then read every tap of every output row without a bounds test.
struct PaddedInput {
  at::Tensor rows;
  int64_t depth, height, row;  // padded sizes; floats per row

  PaddedInput(const at::Tensor& x, const Rows& r) {
    depth = r.depth + 2 * r.g.pad;
    height = r.height + 2 * r.g.pad;
    row = r.g.padded_width() * r.g.padded_channels();
    rows = at::empty({r.n, depth, height, r.g.padded_width(), r.g.padded_channels()}, x.options().dtype(at::kFloat));
    const uint16_t* xp = bits(x);
    float* out = rows.data_ptr<float>();
    at::parallel_for(0, r.n * depth * height, 16, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {  // padded row k: sample s, depth dp, height hp
        const int64_t hp = k % height, dp = (k / height) % depth, s = k / (height * depth);
        const int64_t d = dp - r.g.pad, h = hp - r.g.pad;
        const bool inside = d >= 0 && d < r.depth && h >= 0 && h < r.height;
        dt::kernels::narrow_padded_row(inside ? xp + ((s * r.depth + d) * r.height + h) * r.g.width * r.g.channels : nullptr, r.g, out + k * row);
      }
    });
  }

  // The input rows output row q reads, one per (kd, kh) tap.
  void inputs_of(const Rows& r, int64_t q, std::vector<const float*>& out) const {
    const int64_t oh = q % r.out_height, od = (q / r.out_height) % r.out_depth, s = q / (r.out_height * r.out_depth);
    const float* base = rows.data_ptr<float>();
    for (int64_t t = 0; t < r.g.taps; ++t)
      out[t] = base + ((s * depth + od + t / r.kernel_height) * height + oh + t % r.kernel_height) * row;
  }
};

// dy as float32 rows with kernel − 1 rows or positions of zeros on each side: (N, OD + 2(KD − 1), OH + 2(KH − 1),
// padded_out_width, O), so that every input row's every tap reads a row.
struct PaddedGradient {
  at::Tensor rows;
  int64_t depth, height, row;

  PaddedGradient(const at::Tensor& dy, const Rows& r) {
    depth = r.out_depth + 2 * (r.kernel_depth - 1);
    height = r.out_height + 2 * (r.kernel_height - 1);
    row = r.g.padded_out_width() * r.g.outputs;
    rows = at::zeros({r.n, depth, height, r.g.padded_out_width(), r.g.outputs}, dy.options().dtype(at::kFloat));
    const auto logical = dy.permute({0, 2, 3, 4, 1});  // (N, OD, OH, OW, O)
    rows.narrow(1, r.kernel_depth - 1, r.out_depth)
        .narrow(2, r.kernel_height - 1, r.out_height)
        .narrow(3, r.g.kernel_width - 1, r.g.out_width)
        .copy_(logical);
  }

  // The gradient rows that read input row i through each (kd, kh) tap: output row (id − kd + pad_d, ih − kh + pad).
  void readers_of(const Rows& r, int64_t i, std::vector<const float*>& out) const {
    const int64_t ih = i % r.height, id = (i / r.height) % r.depth, s = i / (r.height * r.depth);
    const float* base = rows.data_ptr<float>();
    for (int64_t t = 0; t < r.g.taps; ++t) {
      const int64_t od = id - t / r.kernel_height + r.g.pad + r.kernel_depth - 1;
      const int64_t oh = ih - t % r.kernel_height + r.g.pad + r.kernel_height - 1;
      out[t] = base + ((s * depth + od) * height + oh) * row;
    }
  }
};

// (O, C, k...) → (O, taps, kw, padded C) in float32, zeros past C: each tap's weights contiguous over the channels, as the
// row kernels read them.
at::Tensor kernel_weight(const at::Tensor& w, const Rows& r) {
  const auto tapped = w.to(at::kFloat).permute({0, 2, 3, 4, 1});  // (O, kd, kh, kw, C)
  auto out = at::zeros({r.g.outputs, r.g.taps, r.g.kernel_width, r.g.padded_channels()}, w.options().dtype(at::kFloat));
  out.narrow(3, 0, r.g.channels).copy_(tapped.reshape({r.g.outputs, r.g.taps, r.g.kernel_width, r.g.channels}));
  return out;
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad) {
  RECORD_USER_SCOPE("dt::conv_narrow");  // named for the op profiler (profiler.cpp)
  const Rows r(x, w, pad);
  auto y = at::empty({r.n, r.g.outputs, r.out_depth, r.out_height, r.g.out_width}, x.options().memory_format(at::MemoryFormat::ChannelsLast3d));
  const PaddedInput input(x, r);
  const auto wt = kernel_weight(w, r);
  const auto bias = b.defined() ? b.to(at::kFloat) : at::Tensor();
  const float* wp = wt.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  uint16_t* yp = bits_mut(y);
  at::parallel_for(0, r.out_rows(), 1, [&](int64_t begin, int64_t end) {
    std::vector<const float*> rows(r.g.taps);
    for (int64_t q = begin; q < end; ++q) {
      input.inputs_of(r, q, rows);
      dt::kernels::narrow_forward_row(rows.data(), r.g, wp, bp, yp + q * r.out_row_size());
    }
  });
  return y;
}

at::Tensor input_gradient(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& w, int64_t pad) {
  const Rows r(x, w, pad);
  auto dx = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::ChannelsLast3d));
  const PaddedGradient gradient(dy, r);
  const auto wt = kernel_weight(w, r);
  const float* wp = wt.data_ptr<float>();
  uint16_t* dxp = bits_mut(dx);
  at::parallel_for(0, r.in_rows(), 1, [&](int64_t begin, int64_t end) {
    std::vector<const float*> rows(r.g.taps);
    for (int64_t i = begin; i < end; ++i) {
      gradient.readers_of(r, i, rows);
      dt::kernels::narrow_backward_data_row(rows.data(), r.g, wp, dxp + i * r.g.width * r.g.channels);
    }
  });
  return dx;
}

// dw (O, C, k...) and db (O; undefined without a bias) in float32: each thread sums its rows into its own buffer, and
// the buffers are added under a lock.
std::pair<at::Tensor, at::Tensor> weight_gradients(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& w, bool bias, int64_t pad) {
  const Rows r(x, w, pad);
  const int64_t weights = r.g.outputs * r.g.taps * r.g.kernel_width * r.g.padded_channels();
  auto total = at::zeros({weights + r.g.outputs}, x.options().dtype(at::kFloat));
  std::mutex lock;
  const PaddedInput input(x, r);
  const uint16_t* gp = bits(dy);
  at::parallel_for(0, r.out_rows(), 1, [&](int64_t begin, int64_t end) {
    std::vector<const float*> rows(r.g.taps);
    std::vector<float> d(r.out_row_size()), sums(weights + r.g.outputs, 0.0f);
    for (int64_t q = begin; q < end; ++q) {
      input.inputs_of(r, q, rows);
      dt::kernels::narrow_backward_weights_row(rows.data(), gp + q * r.out_row_size(), r.g, d.data(), sums.data(),
                                               bias ? sums.data() + weights : nullptr);
    }
    std::lock_guard<std::mutex> guard(lock);
    float* t = total.data_ptr<float>();
    for (size_t k = 0; k < sums.size(); ++k) t[k] += sums[k];
  });
  // (O, taps, kw, padded C) cut to C, then back to the weight's (O, C, k...).
  const auto tapped = total.narrow(0, 0, weights).view({r.g.outputs, r.g.taps * r.g.kernel_width, r.g.padded_channels()}).narrow(2, 0, r.g.channels);
  const auto dw = tapped.reshape({w.size(0), w.size(2), w.size(3), w.size(4), w.size(1)}).permute({0, 4, 1, 2, 3}).contiguous();
  const auto db = bias ? total.narrow(0, weights, r.g.outputs) : at::Tensor();
  return {dw, db};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct ConvNarrow : public torch::autograd::Function<ConvNarrow> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b, int64_t pad) {
    const auto bias = b.value_or(at::Tensor());
    ctx->save_for_backward({x, w, bias});
    ctx->saved_data["pad"] = pad;
    return forward_impl(x, w, bias, pad);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_USER_SCOPE("dt::conv_narrow_backward");
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &b = saved[2];
    const int64_t pad = ctx->saved_data["pad"].toInt();
    const auto dy = grads[0].to(at::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast3d);
    const bool need_b = b.defined() && b.requires_grad();
    if (at::GradMode::is_enabled()) {  // create_graph
      auto g = dt::differentiable_conv_backward(dy, x, w, b, 1, pad);
      return {std::get<0>(g), std::get<1>(g), std::get<2>(g), {}};
    }
    at::Tensor dx, dw, db;
    if (x.requires_grad()) dx = input_gradient(dy, x, w, pad);
    if (w.requires_grad() || need_b) {
      std::tie(dw, db) = weight_gradients(dy, x, w, b.defined(), pad);
      // Rounded once to the weight's type: autograd wants a gradient of its input's type.
      dw = dw.to(w.scalar_type());
      if (db.defined()) db = db.to(b.scalar_type());
    }
    return {dx, w.requires_grad() ? dw : at::Tensor(), need_b ? db : at::Tensor(), {}};
  }
};
}  // namespace

namespace dt {
bool conv_narrow_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride, at::IntArrayRef padding,
                         at::IntArrayRef dilation, bool transposed, int64_t groups) {
  if (transposed || groups != 1 || x.dim() != 5 || w.dim() != 5 || w.size(0) > most_outputs) return false;
  const size_t spatial = 3;
  auto all = [spatial](at::IntArrayRef v, int64_t value) {
    return v.size() == spatial && std::all_of(v.begin(), v.end(), [value](int64_t e) { return e == value; });
  };
  if (padding.size() != spatial || !all(stride, 1) || !all(dilation, 1) || !all(padding, padding[0])) return false;
  for (size_t d = 0; d < spatial; ++d)  // every output reads the input
    if (padding[0] >= w.size(2 + d) || x.size(2 + d) + 2 * padding[0] < w.size(2 + d)) return false;
  return bf16_channels_last_conv(x, w, b) && x.size(0) > 0 && w.size(0) > 0;
}

at::Tensor conv_narrow(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad) {
  if (records_grad(x, w, b)) return ConvNarrow::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt, pad);
  return forward_impl(x, w, b, pad);
}
}  // namespace dt
