// SiLU and tanh-GELU on the vectorised kernels (kernels.cpp) for float32 and bfloat16 CPU tensors, as autograd functions
// so training gets the fast backward too; other dtypes and devices, and double backward, go to ATen. (ATen 1.13's
// bfloat16 GELU converts element by element around Sleef's tanh: forward and backward were 38 % of a DiT bf16 step.)
#include "shim.h"
#include <ATen/record_function.h>
#include "activations.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

namespace {
constexpr int64_t grain = 32768;  // ATen's internal grain size: below it one thread does the work

bool fast_path(const at::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && x.layout() == at::kStrided;
}

// Calls f with x's elements as float* or as bfloat16 bits (uint16_t*).
template <class T> T* elements(const at::Tensor& t);
template <> float* elements<float>(const at::Tensor& t) { return t.data_ptr<float>(); }
template <> uint16_t* elements<uint16_t>(const at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

template <class F>
void with_type(const at::Tensor& x, F f) {
  if (x.scalar_type() == at::kBFloat16) f(uint16_t{});
  else f(float{});
}

// The kernels see flat arrays, so any dense layout works as long as input and output share it: a channels-last
// activation (a bf16 convolution's output) stays channels-last instead of being copied to NCHW.
template <class A>
at::Tensor run_forward(const at::Tensor& x) {
  RECORD_USER_SCOPE(A::name);
  auto in = x.contiguous(x.suggest_memory_format());
  auto out = at::empty_like(in);
  with_type(in, [&](auto tag) {
    using T = decltype(tag);
    const T* src = elements<T>(in);
    T* dst = elements<T>(out);
    at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) { A::forward(src + begin, dst + begin, end - begin); });
  });
  return out;
}

template <class A>
at::Tensor run_backward(const at::Tensor& grad, const at::Tensor& x) {
  const auto format = x.suggest_memory_format();
  auto in = x.contiguous(format);
  auto g = grad.to(in.scalar_type()).contiguous(format);
  auto out = at::empty_like(in);
  with_type(in, [&](auto tag) {
    using T = decltype(tag);
    const T* gp = elements<T>(g);
    const T* xp = elements<T>(in);
    T* op = elements<T>(out);
    at::parallel_for(0, in.numel(), grain, [&](int64_t begin, int64_t end) { A::backward(gp + begin, xp + begin, op + begin, end - begin); });
  });
  return out;
}

// One autograd function per activation A, which names its kernels and ATen's differentiable backward.
template <typename A>
struct Fast : public torch::autograd::Function<Fast<A>> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return run_forward<A>(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    // With create_graph (double backward) the gradient must itself be differentiable: use ATen's formula.
    if (at::GradMode::is_enabled()) return {A::aten_backward(grads[0], x)};
    return {run_backward<A>(grads[0], x)};
  }

  static at::Tensor apply_to(const at::Tensor& x) {
    if (!fast_path(x)) return A::aten(x);
    if (dt::records_grad(x)) return Fast<A>::apply(x);
    return run_forward<A>(x);
  }
};

struct Silu {
  static constexpr const char* name = "dt::silu";
  template <class T> static void forward(const T* x, T* y, int64_t n) { dt::kernels::silu_forward(x, y, n); }
  template <class T> static void backward(const T* g, const T* x, T* out, int64_t n) { dt::kernels::silu_backward(g, x, out, n); }
  static at::Tensor aten(const at::Tensor& x) { return at::silu(x); }
  // ATen 1.13 has no derivative of silu_backward, so the differentiable form is written out: g·s·(1 + x·(1 − s)), s = σ(x).
  static at::Tensor aten_backward(const at::Tensor& g, const at::Tensor& x) {
    const auto s = at::sigmoid(x);
    return g * s * (1 + x * (1 - s));
  }
};

struct GeluTanh {
  static constexpr const char* name = "dt::gelu_tanh";
  template <class T> static void forward(const T* x, T* y, int64_t n) { dt::kernels::gelu_tanh_forward(x, y, n); }
  template <class T> static void backward(const T* g, const T* x, T* out, int64_t n) { dt::kernels::gelu_tanh_backward(g, x, out, n); }
  static at::Tensor aten(const at::Tensor& x) { return at::gelu(x, "tanh"); }
  static at::Tensor aten_backward(const at::Tensor& g, const at::Tensor& x) { return at::gelu_backward(g, x, "tanh"); }
};
}  // namespace

namespace dt {
at::Tensor silu(const at::Tensor& x) { return Fast<Silu>::apply_to(x); }
at::Tensor gelu_tanh(const at::Tensor& x) { return Fast<GeluTanh>::apply_to(x); }
}  // namespace dt
