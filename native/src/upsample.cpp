// Nearest-neighbour ×2 upsampling of channels-last (N, *S, C) activations, 2-D and 3-D, as an autograd function. ATen
// 1.13 upsamples these too, but its backward copies a channels-last gradient to NCHW/NCDHW and returns it so, and the
// convolution before it copies it back: upsample_nearest3d_backward was 3.3 ms of a unet3d32 bf16 step for its two calls
// (diffusion bench --profile). Here a position's C channels are one contiguous row: the forward writes each input row to
// its 2^k children, the backward sums the children's gradient rows (in float32). Double backward goes through ATen.
#include "shim.h"
#include <ATen/record_function.h>
#include "upsample.h"
#include "bf16.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <cstring>
#include <vector>

namespace {
// The input as rows of positions: `rows` = N·D·H input rows (D = 1 in 2-D) of W positions of C channels each;
// `depth` = 2 when the depth doubles (3-D), 1 in 2-D.
struct Grid {
  int64_t rows, height, width, channels, depth;
};

Grid grid_of(const at::Tensor& x) {
  const bool volume = x.dim() == 5;
  const int64_t n = x.size(0), c = x.size(1), d = volume ? x.size(2) : 1, h = x.size(volume ? 3 : 2), w = x.size(volume ? 4 : 3);
  return Grid{n * d * h, h, w, c, volume ? 2 : 1};
}

// Output row (of 2W positions) that child (a, b) of input row r starts at, in output rows of 2W·C elements.
int64_t child_row(const Grid& g, int64_t r, int64_t a, int64_t b) {
  const int64_t h = r % g.height, nd = r / g.height;  // nd = n·D + d: output depth index 2d + a within sample n
  return ((nd * g.depth + a) * g.height * 2 + 2 * h + b);
}

// y[child] = x[row] for every child of every input row.
template <class T>
void forward_rows(const T* x, T* y, const Grid& g) {
  const int64_t in_row = g.width * g.channels, out_row = 2 * in_row;
  at::parallel_for(0, g.rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* src = x + r * in_row;
      T* first = y + child_row(g, r, 0, 0) * out_row;
      for (int64_t w = 0; w < g.width; ++w)  // the doubled row: each position's channels twice
        for (int64_t e = 0; e < 2; ++e) std::memcpy(first + (2 * w + e) * g.channels, src + w * g.channels, g.channels * sizeof(T));
      for (int64_t a = 0; a < g.depth; ++a)
        for (int64_t b = 0; b < 2; ++b)
          if (a || b) std::memcpy(y + child_row(g, r, a, b) * out_row, first, out_row * sizeof(T));
    }
  });
}

// dx[row] = Σ over the row's children of dy, accumulated in float32.
template <class T>
void backward_rows(const T* dy, T* dx, const Grid& g) {
  const int64_t in_row = g.width * g.channels, out_row = 2 * in_row;
  at::parallel_for(0, g.rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> sum(in_row);
    for (int64_t r = begin; r < end; ++r) {
      std::fill(sum.begin(), sum.end(), 0.0f);
      for (int64_t a = 0; a < g.depth; ++a)
        for (int64_t b = 0; b < 2; ++b) {
          const T* child = dy + child_row(g, r, a, b) * out_row;
          for (int64_t w = 0; w < g.width; ++w)
            for (int64_t e = 0; e < 2; ++e) {
              const T* from = child + (2 * w + e) * g.channels;
              float* to = sum.data() + w * g.channels;
              for (int64_t c = 0; c < g.channels; ++c) to[c] += dt::bf16::as_float(from[c]);
            }
        }
      T* out = dx + r * in_row;
      for (int64_t i = 0; i < in_row; ++i) dt::bf16::store(out + i, sum[i]);
    }
  });
}

// (N, C, *S) → (N, C, *2S).
std::vector<int64_t> doubled(at::IntArrayRef sizes) {
  auto out = sizes.vec();
  for (size_t d = 2; d < out.size(); ++d) out[d] *= 2;
  return out;
}

at::Tensor forward_impl(const at::Tensor& x) {
  RECORD_USER_SCOPE("dt::upsample_nearest2x");
  auto y = at::empty(doubled(x.sizes()), x.options().memory_format(dt::channels_last_format(x.dim())));
  const auto g = grid_of(x);
  dt::with_bits(x, [&](auto* in) { forward_rows(in, static_cast<decltype(in)>(y.data_ptr()), g); });
  return y;
}

struct UpsampleNearest2x : public torch::autograd::Function<UpsampleNearest2x> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->saved_data["sizes"] = x.sizes().vec();
    return forward_impl(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto& grad = grads[0];
    if (at::GradMode::is_enabled()) {  // create_graph: ATen's differentiable backward
      const auto out = at::IntArrayRef(doubled(sizes)).slice(2).vec();
      return {sizes.size() == 5 ? at::upsample_nearest3d_backward(grad, out, sizes, 2.0, 2.0, 2.0)
                                : at::upsample_nearest2d_backward(grad, out, sizes, 2.0, 2.0)};
    }
    RECORD_USER_SCOPE("dt::upsample_nearest2x_backward");
    const auto format = dt::channels_last_format(static_cast<int64_t>(sizes.size()));
    const auto dy = grad.contiguous(format);
    auto dx = at::empty(sizes, dy.options().memory_format(format));
    const auto g = grid_of(dx);
    dt::with_bits(dy, [&](auto* in) { backward_rows(in, static_cast<decltype(in)>(dx.data_ptr()), g); });
    return {dx};
  }
};
}  // namespace

namespace dt {
bool upsample_nearest2x_applies(const at::Tensor& x) {
  return stored_channels_last(x);
}

at::Tensor upsample_nearest2x(const at::Tensor& x) {
  TORCH_CHECK(upsample_nearest2x_applies(x), "upsample_nearest2x takes a float32 or bfloat16 channels-last CPU tensor, got ",
              x.scalar_type(), " ", x.sizes(), " strides ", x.strides());
  if (x.requires_grad() && at::GradMode::is_enabled()) return UpsampleNearest2x::apply(x);
  return forward_impl(x);
}
}  // namespace dt
