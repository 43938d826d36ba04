// x + e[:, :, None, None] for a channels-last x (N, *S, C) and e (N, C): each ResBlock adds its time embedding so. ATen
// 1.13's TensorIterator runs it as N·S inner loops of C elements, and that is slow for few channels: 1.28 ms for a
// (2, 16, 32, 32, 32) bf16 volume against 0.115 ms for a plain add of two such volumes (PyTorch 1.13, two threads);
// unet3d32 runs five of them per step, and the gradient of e (a sum over positions) costs as much again. Here a
// position's C channels are one contiguous row: the forward adds sample n's e row to each of its rows, the backward
// sums a sample's gradient rows in float32 (in blocks of positions, so no running sum grows past a block). Double
// backward goes through ATen.
#include "shim.h"
#include <ATen/record_function.h>
#include "channel_add.h"
#include "bf16.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <type_traits>
#include <vector>

namespace {
// (N, C, 1, ...) matching x's N and C.
bool per_sample_channels(const at::Tensor& e, const at::Tensor& x) {
  if (e.dim() != x.dim() || e.scalar_type() != x.scalar_type() || !e.device().is_cpu() || e.size(0) != x.size(0) || e.size(1) != x.size(1))
    return false;
  for (int64_t d = 2; d < e.dim(); ++d)
    if (e.size(d) != 1) return false;
  return true;
}

// y[n, p, :] = x[n, p, :] + e[n, :] over rows of C elements, `positions` rows per sample (the loops: kernels.cpp).
template <class T>
void add_rows(const T* x, const T* e, T* y, int64_t samples, int64_t positions, int64_t channels) {
  const int64_t grain = std::max<int64_t>(1, 16384 / channels);
  at::parallel_for(0, samples * positions, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end;) {  // runs of rows within one sample
      const int64_t n = r / positions, stop = std::min(end, (n + 1) * positions);
      dt::kernels::add_row_to_rows(x + r * channels, e + n * channels, y + r * channels, stop - r, channels);
      r = stop;
    }
  });
}

// de[n, :] = Σ_p dy[n, p, :] in float32: sums of blocks of positions, then of the blocks.
template <class T>
void sum_rows(const T* dy, T* de, int64_t samples, int64_t positions, int64_t channels) {
  constexpr int64_t block = 256;
  at::parallel_for(0, samples, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> total(channels), partial(channels);
    for (int64_t n = begin; n < end; ++n) {
      std::fill(total.begin(), total.end(), 0.0f);
      for (int64_t p0 = 0; p0 < positions; p0 += block) {
        std::fill(partial.begin(), partial.end(), 0.0f);
        dt::kernels::sum_rows(dy + (n * positions + p0) * channels, partial.data(), std::min(block, positions - p0), channels);
        for (int64_t c = 0; c < channels; ++c) total[c] += partial[c];
      }
      for (int64_t c = 0; c < channels; ++c) dt::bf16::store(de + n * channels + c, total[c]);
    }
  });
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& e) {
  RECORD_USER_SCOPE("dt::channel_add");  // named for the op profiler (profiler.cpp)
  auto y = at::empty(x.sizes(), x.options().memory_format(dt::channels_last_format(x.dim())));
  const auto rows = e.contiguous();
  const int64_t samples = x.size(0), channels = x.size(1), positions = x.numel() / std::max<int64_t>(1, samples * channels);
  dt::with_bits(x, [&](auto* in) {
    using T = std::remove_pointer_t<decltype(in)>;
    add_rows(in, static_cast<const T*>(rows.data_ptr()), static_cast<T*>(y.data_ptr()), samples, positions, channels);
  });
  return y;
}

struct ChannelAdd : public torch::autograd::Function<ChannelAdd> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& e) {
    ctx->saved_data["e_sizes"] = e.sizes().vec();
    return forward_impl(x, e);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto e_sizes = ctx->saved_data["e_sizes"].toIntVector();
    const auto& grad = grads[0];
    std::vector<int64_t> positions_dims;
    for (int64_t d = 2; d < grad.dim(); ++d) positions_dims.push_back(d);
    if (at::GradMode::is_enabled())  // create_graph: ATen's differentiable sum
      return {grad, grad.sum(positions_dims, /*keepdim=*/true)};
    RECORD_USER_SCOPE("dt::channel_add_backward");
    const auto dy = grad.contiguous(dt::channels_last_format(grad.dim()));
    auto de = at::empty(e_sizes, dy.options().memory_format(at::MemoryFormat::Contiguous));
    const int64_t samples = dy.size(0), channels = dy.size(1), positions = dy.numel() / std::max<int64_t>(1, samples * channels);
    dt::with_bits(dy, [&](auto* in) { sum_rows(in, static_cast<decltype(in)>(de.data_ptr()), samples, positions, channels); });
    return {grad, de};
  }
};
}  // namespace

namespace dt {
bool channel_add_applies(const at::Tensor& a, const at::Tensor& b) {
  return (dt::stored_channels_last(a) && per_sample_channels(b, a)) || (dt::stored_channels_last(b) && per_sample_channels(a, b));
}

at::Tensor channel_add(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(channel_add_applies(a, b), "channel_add takes a float32 or bfloat16 channels-last CPU tensor and an (N, C, 1, ...) ",
              "tensor of its type, got ", a.scalar_type(), " ", a.sizes(), " and ", b.scalar_type(), " ", b.sizes());
  const bool a_is_x = dt::stored_channels_last(a) && per_sample_channels(b, a);
  const auto &x = a_is_x ? a : b, &e = a_is_x ? b : a;  // float addition commutes: the order does not change the sum
  if (records_grad(x, e)) return ChannelAdd::apply(x, e);
  return forward_impl(x, e);
}
}  // namespace dt
