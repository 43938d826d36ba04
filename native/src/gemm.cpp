// Linear layers on oneDNN. ATen 1.13 sends float32 matrix products to the system BLAS, and Debian's libtorch gets
// OpenBLAS, whose kernels here are its Haswell (AVX2) ones; oneDNN — which libtorch already loads for its convolutions —
// has AVX-512 JIT GEMMs that run 2–3× faster on this machine (README, Performance). For float32 we call dnnl_sgemm of
// the very oneDNN library libtorch loaded (RTLD_NOLOAD: same build, same OpenMP pool, nothing new on the loader path); a
// libtorch that links oneDNN statically (PyTorch's own builds) has none to offer, and ATen serves as before. bfloat16
// layers take cached oneDNN matmul primitives (linear_bf16.cpp) where the shim was built with oneDNN's headers.
// DIFFUSION_GEMM=aten turns both off, e.g. to compare.
#include "shim.h"
#include <ATen/record_function.h>
#include "gemm.h"
#include "linear_bf16.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace {
// dnnl_sgemm (dnnl.h): row-major C = alpha·op(A)·op(B) + beta·C; returns dnnl_status_t, 0 on success.
using Sgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

Sgemm resolve_sgemm() {
  const char* choice = std::getenv("DIFFUSION_GEMM");
  if (choice && std::strcmp(choice, "aten") == 0) return nullptr;
  void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
  return library ? reinterpret_cast<Sgemm>(dlsym(library, "dnnl_sgemm")) : nullptr;
}

const Sgemm sgemm = resolve_sgemm();
const bool bf16_matmul = dt::linear_bf16::available() && [] {
  const char* choice = std::getenv("DIFFUSION_GEMM");
  return !(choice && std::strcmp(choice, "aten") == 0);
}();

// C (m, n) = op(A)·op(B) (+ C when accumulate) for contiguous row-major float32 matrices.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const at::Tensor& a, const at::Tensor& b, at::Tensor& c,
          bool accumulate = false) {
  at::internal::lazy_init_num_threads();  // oneDNN reads this thread's OpenMP thread count, which ATen sets lazily
  int status = sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a.data_ptr<float>(), ta ? m : k, b.data_ptr<float>(),
                     tb ? k : n, accumulate ? 1.0f : 0.0f, c.data_ptr<float>(), n);
  TORCH_CHECK(status == 0, "oneDNN sgemm failed with status ", status, " for (", m, " x ", k, ") · (", k, " x ", n, ")");
}

bool fast_path(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const auto type = x.scalar_type();
  if (!(type == at::kFloat ? sgemm != nullptr : type == at::kBFloat16 && bf16_matmul)) return false;
  auto fits = [type](const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == type && t.layout() == at::kStrided; };
  return fits(x) && fits(w) && (!b.defined() || (fits(b) && b.dim() == 1 && b.size(0) == w.size(0))) && x.dim() >= 1 &&
         w.dim() == 2 && x.size(-1) == w.size(1) && x.numel() > 0 && w.numel() > 0;
}

// x (…, k) · wᵀ (k, n) + b → (…, n)
at::Tensor linear_forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  auto in = x.contiguous();
  auto weight = w.contiguous();
  const int64_t k = w.size(1), n = w.size(0), m = in.numel() / k;
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  if (x.scalar_type() == at::kBFloat16) return dt::linear_bf16::forward(in.view({m, k}), weight, b.defined() ? b.contiguous() : b).view(sizes);
  RECORD_USER_SCOPE("dt::linear");
  auto out = at::empty(sizes, in.options());
  if (b.defined()) out.view({m, n}).copy_(b.expand({m, n}));
  gemm(false, true, m, n, k, in, weight, out, b.defined());
  return out;
}

// Applied as (x, w) or (x, w, b): autograd takes no undefined tensor as an input.
struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const at::Tensor& b = at::Tensor()) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["bias"] = b.defined();
    return linear_forward(x, w, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1];
    const int64_t k = w.size(1), n = w.size(0), m = x.numel() / k;
    auto g = grads[0].contiguous().view({m, n});  // (m, n)
    at::Tensor gx, gw, gb;
    // With create_graph (double backward) the gradients must themselves be differentiable: ATen's ops.
    const bool differentiable = at::GradMode::is_enabled();
    if (ctx->needs_input_grad(0)) {
      if (differentiable) gx = g.mm(w);
      else if (g.scalar_type() == at::kBFloat16) gx = dt::linear_bf16::input_gradient(g, w.contiguous());
      else {
        gx = at::empty({m, k}, g.options());
        gemm(false, false, m, k, n, g, w.contiguous(), gx);  // (m, n) · (n, k)
      }
      gx = gx.view(x.sizes());
    }
    if (ctx->needs_input_grad(1)) {
      auto x2 = x.contiguous().view({m, k});
      if (differentiable) gw = g.t().mm(x2);
      else if (g.scalar_type() == at::kBFloat16) gw = dt::linear_bf16::weight_gradient(g, x2);
      else {
        gw = at::empty({n, k}, g.options());
        gemm(true, false, n, k, m, g, x2, gw);  // (n, m) · (m, k)
      }
    }
    if (!ctx->saved_data["bias"].toBool()) return {gx, gw};
    if (ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb};
  }
};
}  // namespace

namespace dt {
const char* gemm_backend() { return sgemm ? "onednn" : "aten"; }

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (!fast_path(x, w, b)) return at::linear(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt);
  if (!records_grad(x, w, b)) return linear_forward(x, w, b);
  return b.defined() ? LinearFunction::apply(x, w, b) : LinearFunction::apply(x, w);
}
}  // namespace dt
