// SiLU on the vectorised kernels (kernels.cpp) for contiguous float32 CPU tensors, as an autograd function so
// training gets the fast backward too; anything else, and double backward, goes to ATen's silu.
#include "shim.h"
#include "activations.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

namespace {
constexpr int64_t grain = 32768;  // ATen's internal grain size: below it one thread does the work

bool fast_path(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.layout() == at::kStrided && !x.is_conj();
}

at::Tensor forward_kernel(const at::Tensor& x) {
  auto in = x.contiguous();
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) {
    dt::kernels::silu_forward(src + begin, dst + begin, end - begin);
  });
  return out;
}

at::Tensor backward_kernel(const at::Tensor& grad, const at::Tensor& x) {
  auto g = grad.contiguous();
  auto in = x.contiguous();
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const float* gp = g.data_ptr<float>();
  const float* xp = in.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) {
    dt::kernels::silu_backward(gp + begin, xp + begin, op + begin, end - begin);
  });
  return out;
}

struct FastSilu : public torch::autograd::Function<FastSilu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return forward_kernel(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    // With create_graph (double backward) the gradient must itself be differentiable: use ATen's formula.
    if (at::GradMode::is_enabled()) return {at::silu_backward(grads[0], x)};
    return {backward_kernel(grads[0], x)};
  }
};
}  // namespace

namespace dt {
at::Tensor silu(const at::Tensor& x) {
  if (!fast_path(x)) return at::silu(x);
  if (x.requires_grad() && at::GradMode::is_enabled()) return FastSilu::apply(x);
  return forward_kernel(x);
}
}  // namespace dt
