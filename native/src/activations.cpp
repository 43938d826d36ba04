// SiLU and tanh-GELU on the vectorised kernels (kernels.cpp) for float32 CPU tensors, as autograd functions so
// training gets the fast backward too; other dtypes and devices, and double backward, go to ATen.
#include "shim.h"
#include "activations.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

namespace {
constexpr int64_t grain = 32768;  // ATen's internal grain size: below it one thread does the work

using Forward = void (*)(const float*, float*, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t);

bool fast_path(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.layout() == at::kStrided;
}

at::Tensor run(Forward kernel, const at::Tensor& x) {
  auto in = x.contiguous();
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) { kernel(src + begin, dst + begin, end - begin); });
  return out;
}

at::Tensor run(Backward kernel, const at::Tensor& grad, const at::Tensor& x) {
  auto g = grad.contiguous();
  auto in = x.contiguous();
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const float* gp = g.data_ptr<float>();
  const float* xp = in.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) { kernel(gp + begin, xp + begin, op + begin, end - begin); });
  return out;
}

// One autograd function per activation A, which names its kernels and ATen's differentiable backward.
template <typename A>
struct Fast : public torch::autograd::Function<Fast<A>> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return run(A::forward, x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    // With create_graph (double backward) the gradient must itself be differentiable: use ATen's formula.
    if (at::GradMode::is_enabled()) return {A::aten_backward(grads[0], x)};
    return {run(A::backward, grads[0], x)};
  }

  static at::Tensor apply_to(const at::Tensor& x) {
    if (!fast_path(x)) return A::aten(x);
    if (x.requires_grad() && at::GradMode::is_enabled()) return Fast<A>::apply(x);
    return run(A::forward, x);
  }
};

struct Silu {
  static constexpr Forward forward = dt::kernels::silu_forward;
  static constexpr Backward backward = dt::kernels::silu_backward;
  static at::Tensor aten(const at::Tensor& x) { return at::silu(x); }
  // ATen 1.13 has no derivative of silu_backward, so the differentiable form is written out: g·s·(1 + x·(1 − s)), s = σ(x).
  static at::Tensor aten_backward(const at::Tensor& g, const at::Tensor& x) {
    const auto s = at::sigmoid(x);
    return g * s * (1 + x * (1 - s));
  }
};

struct GeluTanh {
  static constexpr Forward forward = dt::kernels::gelu_tanh_forward;
  static constexpr Backward backward = dt::kernels::gelu_tanh_backward;
  static at::Tensor aten(const at::Tensor& x) { return at::gelu(x, "tanh"); }
  static at::Tensor aten_backward(const at::Tensor& g, const at::Tensor& x) { return at::gelu_backward(g, x, "tanh"); }
};
}  // namespace

namespace dt {
at::Tensor silu(const at::Tensor& x) { return Fast<Silu>::apply_to(x); }
at::Tensor gelu_tanh(const at::Tensor& x) { return Fast<GeluTanh>::apply_to(x); }
}  // namespace dt
