// Optimizer steps: one call per parameter group per step, so a model with hundreds of
// tensors costs one P/Invoke, not one per tensor per elementary op. The math is PyTorch
// 1.13's single-tensor path (torch/optim/{sgd,adam,adamw}.py, foreach=False), op for op,
// so results agree with PyTorch on the same libtorch bit for bit (Adam's opt-in fused path: to rounding).
//
// State slots are in/out arrays: a null entry is created here on the parameter's first step
// with a gradient (written back as a new handle that Diffusion.Torch then owns), and every
// created handle is in the array before anything else can throw, so none can leak.
// Parameters whose .grad is undefined are skipped: no state, no step.
#include "shim.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <cmath>

namespace {
// The fused Adam kernel's inputs: float32, dense and contiguous, one size (the state is made zeros_like the param).
bool fusable(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v, const at::Tensor& v_max) {
  for (const at::Tensor* t : {&p, &g, &m, &v, &v_max})
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || !t->is_contiguous() || t->numel() != p.numel()) return false;
  return true;
}

at::Tensor& zeros_slot(TensorH* slots, int32_t i, const at::Tensor& like) {
  if (!slots[i]) slots[i] = dt::wrap(at::zeros_like(like, at::MemoryFormat::Preserve));
  return *slots[i];
}
}  // namespace

// SGD with momentum (Sutskever et al. 2013), PyTorch's formulation:
//   g ← ∇ + wd·p;  b ← μ·b + (1 − τ)·g (b₁ = g);  g ← g + μ·b (nesterov) or b;  p ← p − lr·g
DT_API int dt_sgd_step(const TensorH* params, TensorH* momentum_buffers, int32_t n, double lr, double momentum,
                       double dampening, double weight_decay, int32_t nesterov, int32_t maximize) {
  DT_TRY(
      at::NoGradGuard no_grad;
      for (int32_t i = 0; i < n; ++i) {
        at::Tensor& p = *params[i];
        const at::Tensor& grad = p.grad();
        if (!grad.defined()) continue;
        at::Tensor d_p = maximize ? at::neg(grad) : grad;
        if (weight_decay != 0) d_p = d_p.add(p, weight_decay);
        if (momentum != 0) {
          if (!momentum_buffers[i]) {
            momentum_buffers[i] = dt::wrap(at::clone(d_p).detach());
          } else {
            momentum_buffers[i]->mul_(momentum).add_(d_p, 1 - dampening);
          }
          const at::Tensor& buf = *momentum_buffers[i];
          d_p = nesterov ? d_p.add(buf, momentum) : buf;
        }
        p.add_(d_p, -lr);
      })
}

// Adam (Kingma & Ba 2015, Algorithm 1) with PyTorch's bias correction and optional
// AMSGrad (Reddi et al. 2018); decoupled != 0 gives AdamW (Loshchilov & Hutter 2019):
//   Adam:  g ← ∇ + wd·p            AdamW: p ← p·(1 − lr·wd)
//   m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  v̂ ← max(v̂, v) (amsgrad)
//   p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
// steps[i] is parameter i's own step count t, incremented here when it has a gradient.
// fused != 0 runs each float32 contiguous tensor through one kernel pass (kernels.cpp, adam_step) instead of the op chain:
// the same element operations in the same order, so it agrees with the chain to rounding (ATen's own vector and scalar
// tails differ at that level), in one read and write of p, g, m and v instead of ~10 ATen ops per tensor.
DT_API int dt_adam_step(const TensorH* params, TensorH* exp_avgs, TensorH* exp_avg_sqs, TensorH* max_exp_avg_sqs,
                        int64_t* steps, int32_t n, double lr, double beta1, double beta2, double eps,
                        double weight_decay, int32_t amsgrad, int32_t maximize, int32_t decoupled, int32_t fused) {
  DT_TRY(
      at::NoGradGuard no_grad;
      for (int32_t i = 0; i < n; ++i) {
        at::Tensor& p = *params[i];
        const at::Tensor& g = p.grad();
        if (!g.defined()) continue;
        at::Tensor& exp_avg = zeros_slot(exp_avgs, i, p);
        at::Tensor& exp_avg_sq = zeros_slot(exp_avg_sqs, i, p);
        if (amsgrad) zeros_slot(max_exp_avg_sqs, i, p);
        const double step = static_cast<double>(++steps[i]);

        const double bias_correction1 = 1 - std::pow(beta1, step);
        const double bias_correction2 = 1 - std::pow(beta2, step);
        const double step_size = lr / bias_correction1;
        const double bias_correction2_sqrt = std::sqrt(bias_correction2);
        if (fused && fusable(p, g, exp_avg, exp_avg_sq, amsgrad ? *max_exp_avg_sqs[i] : exp_avg /* no fourth slot */)) {
          const dt::kernels::AdamScalars k{static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2),
                                           static_cast<float>(1 - beta2), static_cast<float>(bias_correction2_sqrt),
                                           static_cast<float>(eps), static_cast<float>(-step_size),
                                           decoupled ? 0.0f : static_cast<float>(weight_decay),
                                           decoupled && weight_decay != 0 ? static_cast<float>(1 - lr * weight_decay) : 1.0f,
                                           maximize != 0, amsgrad != 0};
          float *pp = p.data_ptr<float>(), *mp = exp_avg.data_ptr<float>(), *vp = exp_avg_sq.data_ptr<float>();
          float* vmax = amsgrad ? max_exp_avg_sqs[i]->data_ptr<float>() : nullptr;
          const float* gp = g.data_ptr<float>();
          at::parallel_for(0, p.numel(), 32768, [&](int64_t b, int64_t e) {
            dt::kernels::adam_step(pp + b, gp + b, mp + b, vp + b, vmax ? vmax + b : nullptr, e - b, k);
          });
          // Written through raw pointers: bump the version counters as the op chain's in-place ops would, so autograd's
          // saved-tensor check and version-keyed caches see the change.
          p.unsafeGetTensorImpl()->bump_version();
          exp_avg.unsafeGetTensorImpl()->bump_version();
          exp_avg_sq.unsafeGetTensorImpl()->bump_version();
          if (amsgrad) max_exp_avg_sqs[i]->unsafeGetTensorImpl()->bump_version();
          continue;
        }
        at::Tensor grad = maximize ? at::neg(g) : g;
        if (decoupled) {
          if (weight_decay != 0) p.mul_(1 - lr * weight_decay);  // × 1.0 would change nothing
        } else if (weight_decay != 0) {
          grad = grad.add(p, weight_decay);
        }
        exp_avg.mul_(beta1).add_(grad, 1 - beta1);
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

        at::Tensor denom;
        if (amsgrad) {
          at::Tensor& max_sq = *max_exp_avg_sqs[i];
          at::maximum_out(max_sq, max_sq, exp_avg_sq);
          denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps);
        } else {
          denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
        }
        p.addcdiv_(exp_avg, denom, -step_size);
      })
}

// PyTorch's zero_grad(set_to_none=True) over a parameter list.
DT_API int dt_clear_grads(const TensorH* params, int32_t n) {
  DT_TRY(for (int32_t i = 0; i < n; ++i) params[i]->mutable_grad().reset())
}
