// The fused GroupNorm(→SiLU) (group_norm.h) for CPU tensors (N, C, *spatial), contiguous or channels-last (a bf16
// convolution's output): statistics per (sample, group) in float32 (norm_kernels.cpp), y = act((x − μ)·rstd·γ + β) written
// straight in the output type and in x's layout. As an autograd function it saves x, μ and rstd (no activation-sized tensor
// beyond the input itself): backward recomputes the pre-activation from x for SiLU's derivative. Double backward
// composes ATen's ops instead.
#include "shim.h"
#include <ATen/record_function.h>
#include "group_norm.h"
#include "norm_kernels.h"
#include "norm_kernels_avx512.h"
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace {
constexpr int64_t grain = 32768;  // elements: below ATen's grain size one thread does the work
constexpr int64_t rough_rows = 256;  // channels-last rows that give a group's rough mean (forward_rows)

// (N, C, *spatial) seen as N·G groups of `channels` channels × `positions` contiguous elements each.
struct Layout {
  int64_t n, c, groups, channels, positions;
  int64_t size() const { return channels * positions; }
  int64_t count() const { return n * groups; }
  int64_t grain_groups() const { return std::max<int64_t>(1, grain / std::max<int64_t>(1, size())); }
};

Layout layout_of(const at::Tensor& x, int64_t groups) {
  const int64_t n = x.size(0), c = x.size(1);
  return {n, c, groups, c / groups, c == 0 ? 0 : x.numel() / std::max<int64_t>(1, n * c)};
}

// The layout the kernels read x in: channels-last rows (N, *spatial, C) when x is stored so (a bf16 convolution's output,
// README, Precision) and not also plainly contiguous (one channel, or one position: then both layouts coincide).
at::MemoryFormat layout_format(const at::Tensor& x) {
  const auto f = x.dim() == 4 ? at::MemoryFormat::ChannelsLast : x.dim() == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::Contiguous;
  return f != at::MemoryFormat::Contiguous && !x.is_contiguous() && x.is_contiguous(f) ? f : at::MemoryFormat::Contiguous;
}

using dt::bits;
using dt::bits_mut;
uint16_t* same_type(const at::Tensor& t, const uint16_t*) { return bits_mut(t); }
float* same_type(const at::Tensor& t, const float*) { return t.data_ptr<float>(); }
const float* floats_or_null(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

// Per channel of group g: scale = rstd·γ and shift = β, the affine the kernels apply to (x − μ).
void affine_of(const float* gamma, const float* beta, int64_t g, int64_t channels, float rstd, float* scale, float* shift) {
  for (int64_t d = 0; d < channels; ++d) {
    const int64_t c = g * channels + d;
    scale[d] = rstd * (gamma ? gamma[c] : 1.0f);
    shift[d] = beta ? beta[c] : 0.0f;
  }
}

// Calls f(typed x pointer, typed y pointer) for the four (input, output) element-type pairs.
template <class F>
void with_types(const at::Tensor& x, const at::Tensor& y, F f) {
  const bool xb = x.scalar_type() == at::kBFloat16, yb = y.scalar_type() == at::kBFloat16;
  if (xb && yb) f(bits(x), bits_mut(y));
  else if (xb) f(bits(x), y.data_ptr<float>());
  else if (yb) f(x.data_ptr<float>(), bits_mut(y));
  else f(x.data_ptr<float>(), y.data_ptr<float>());
}

struct Forward {
  at::Tensor y, mean, rstd;
};

// x channels-last contiguous (N, *spatial, C): per sample, per-channel sums give each group's statistics (the same
// two-pass form as group_moments), then every row is normalised across its channels.
Forward forward_rows(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t groups, double eps, bool silu,
                     at::ScalarType output_type, at::MemoryFormat format) {
  const auto L = layout_of(x, groups);
  const int64_t C = L.c, S = L.positions;
  auto y = at::empty(x.sizes(), x.options().dtype(output_type).memory_format(format));
  auto mean = at::empty({L.n, groups}, x.options().dtype(at::kFloat));
  auto rstd = at::empty({L.n, groups}, x.options().dtype(at::kFloat));
  auto coefficients = at::empty({3, L.n, C}, x.options().dtype(at::kFloat));  // per (sample, channel): center, scale, shift
  const float* gamma = floats_or_null(weight);
  const float* beta = floats_or_null(bias);
  float *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
  float *center = coefficients.data_ptr<float>(), *scale = center + L.n * C, *shift = scale + L.n * C;
  const auto m = static_cast<float>(L.size());
  with_types(x, y, [&](auto* xp, auto* yp) {
    at::parallel_for(0, L.n, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> sum(C), squares(C);
      for (int64_t n = begin; n < end; ++n) {
        const auto* xn = xp + n * S * C;
        float* cn = center + n * C;
        std::fill(cn, cn + C, 0.0f);
        std::fill(sum.begin(), sum.end(), 0.0f);
        // The rough mean of each group from its first `sampled` rows only, not a whole pass over x: these passes wait on
        // memory. The second pass's sums are taken about it and correct it exactly; what a rough mean off by δ costs is
        // float32 rounding in the variance of relative size u₃₂·(1 + δ²/σ²), and the mean of n of a group's m elements
        // is off by at most σ·√(m/n) — so at most u₃₂·(1 + S/sampled) for S rows (a single outlier in the sample),
        // ~u₃₂·(1 + 1/n) for data without such a pattern.
        const int64_t sampled = std::min<int64_t>(S, rough_rows);
        dt::kernels::rows_sums(xn, sampled, C, cn, sum.data(), nullptr);
        for (int64_t g = 0; g < groups; ++g) {
          float s = 0;
          for (int64_t d = 0; d < L.channels; ++d) s += sum[g * L.channels + d];
          std::fill(cn + g * L.channels, cn + (g + 1) * L.channels, s / static_cast<float>(sampled * L.channels));
        }
        std::fill(sum.begin(), sum.end(), 0.0f);
        std::fill(squares.begin(), squares.end(), 0.0f);
        dt::kernels::rows_sums(xn, S, C, cn, sum.data(), squares.data());
        for (int64_t g = 0; g < groups; ++g) {
          float s = 0, q = 0;
          for (int64_t d = 0; d < L.channels; ++d) {
            s += sum[g * L.channels + d];
            q += squares[g * L.channels + d];
          }
          const float mu = cn[g * L.channels] + s / m, v = (q - s * s / m) / m;
          const float r = static_cast<float>(1.0 / std::sqrt(static_cast<double>(v > 0.0f ? v : 0.0f) + eps));
          mp[n * groups + g] = mu;
          rp[n * groups + g] = r;
          std::fill(cn + g * L.channels, cn + (g + 1) * L.channels, mu);
          affine_of(gamma, beta, g, L.channels, r, scale + n * C + g * L.channels, shift + n * C + g * L.channels);
        }
      }
    });
    // Rows of all samples in parallel; a range may span samples, whose coefficients differ.
    at::parallel_for(0, L.n * S, std::max<int64_t>(1, grain / std::max<int64_t>(1, C)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end;) {
        const int64_t n = r / S, stop = std::min(end, (n + 1) * S);
        dt::kernels::rows_apply(xp + r * C, yp + r * C, stop - r, C, center + n * C, scale + n * C, shift + n * C, silu);
        r = stop;
      }
    });
  });
  return {y, mean, rstd};
}

// x contiguous in `format`; weight/bias float32 (C) or undefined.
Forward forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t groups, double eps, bool silu,
                at::ScalarType output_type, at::MemoryFormat format) {
  if (format != at::MemoryFormat::Contiguous) return forward_rows(x, weight, bias, groups, eps, silu, output_type, format);
  const auto L = layout_of(x, groups);
  auto y = at::empty(x.sizes(), x.options().dtype(output_type));
  auto mean = at::empty({L.n, groups}, x.options().dtype(at::kFloat));
  auto rstd = at::empty({L.n, groups}, x.options().dtype(at::kFloat));
  const float* gamma = floats_or_null(weight);
  const float* beta = floats_or_null(bias);
  float* mp = mean.data_ptr<float>();
  float* rp = rstd.data_ptr<float>();
  with_types(x, y, [&](auto* xp, auto* yp) {
    at::parallel_for(0, L.count(), L.grain_groups(), [&](int64_t begin, int64_t end) {
      std::vector<float> scale(L.channels), shift(L.channels);
      for (int64_t k = begin; k < end; ++k) {
        const int64_t offset = k * L.size();
        float mu, var;
        dt::kernels::group_moments(xp + offset, L.size(), &mu, &var);
        const float r = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var) + eps));
        mp[k] = mu;
        rp[k] = r;
        affine_of(gamma, beta, k % groups, L.channels, r, scale.data(), shift.data());
        dt::kernels::group_apply(xp + offset, yp + offset, L.channels, L.positions, mu, scale.data(), shift.data(), silu);
      }
    });
  });
  return {y, mean, rstd};
}

// Float32 scratch of n elements from the CPU allocator (the shim's caching one), left uninitialised: the backward's dz is
// a whole sample's worth (4 MB for a 32³ volume of 32 channels), and a std::vector wrote zeros over all of it into
// freshly mapped pages on every call.
at::Tensor scratch(int64_t n) { return at::empty({n}, at::TensorOptions().dtype(at::kFloat)); }

struct Gradients {
  at::Tensor dx, dweight, dbias;
};

// What a backward fills: per-sample sums r·Σ_s dz·(x − μ) (for dγ) and Σ_s dz (for dβ) per (n, c), and dx in x's type
// and layout; then dγ and dβ are their sums over the samples.
struct Sums {
  at::Tensor ds, db, dx;

  Sums(const at::Tensor& x, int64_t n, int64_t c, bool need_dx, at::MemoryFormat format)
      : ds(at::zeros({n, c}, x.options().dtype(at::kFloat))), db(at::zeros({n, c}, x.options().dtype(at::kFloat))),
        dx(need_dx ? at::empty(x.sizes(), x.options().memory_format(format)) : at::Tensor()) {}

  Gradients gradients(const at::Tensor& weight, const at::Tensor& bias) const {
    return {dx, weight.defined() ? ds.sum(0) : at::Tensor(), bias.defined() ? db.sum(0) : at::Tensor()};
  }
};

// dx's per-group coefficients of the backward below: b = −r³·Σ_c γ_c·ds_c / M and c0 = −r·Σ_c γ_c·db_c / M over the
// group's channels, with ds and db that group's per-channel sums (before the r of dγ), summed in double.
std::pair<float, float> dx_coefficients(const float* gamma, const float* ds, const float* db, int64_t g, int64_t channels,
                                        double r, double M) {
  double ds_g = 0, db_g = 0;
  for (int64_t d = 0; d < channels; ++d) {
    const double ga = gamma ? gamma[g * channels + d] : 1.0;
    ds_g += ga * ds[d];
    db_g += ga * db[d];
  }
  return {static_cast<float>(-r * r * r * ds_g / M), static_cast<float>(-r * db_g / M)};
}

// Wu & He's GroupNorm backward with x̂ = (x − μ)·r, dz the gradient at γx̂ + β (after SiLU's derivative), M = channels·positions:
// dx = r·γ_c·dz − r³·(x − μ)·Σ_g γ_c·dz·(x − μ) / M − r·Σ_g γ_c·dz / M;  dγ_c = Σ_n r·Σ_s dz·(x − μ);  dβ_c = Σ_n Σ_s dz.
// Every sum is taken about μ (not as Σ dz·x − μ·Σ dz), so a large offset does not cancel away the digits.
// The same for channels-last rows, one sample at a time (its per-channel sums, then its dx).
Gradients backward_rows(const at::Tensor& dy_in, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                        const at::Tensor& mean, const at::Tensor& rstd, int64_t groups, bool silu, bool need_dx, at::MemoryFormat format) {
  const auto L = layout_of(x, groups);
  const int64_t C = L.c, S = L.positions;
  auto dy = dy_in.contiguous(format);
  Sums sums(x, L.n, C, need_dx, format);
  const auto& dx = sums.dx;
  const float* gamma = floats_or_null(weight);
  const float* beta = floats_or_null(bias);
  const float* mp = mean.data_ptr<float>();
  const float* rp = rstd.data_ptr<float>();
  float* dsp = sums.ds.data_ptr<float>();
  float* dbp = sums.db.data_ptr<float>();
  const auto M = static_cast<double>(L.size());
  with_types(x, dy, [&](auto* xp, auto* gp) {
    at::parallel_for(0, L.n, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> center(C), scale(C), shift(C), b(C), c0(C);
      const auto dz = scratch(S * C);
      for (int64_t n = begin; n < end; ++n) {
        const int64_t offset = n * S * C;
        float *ds = dsp + n * C, *db = dbp + n * C;
        for (int64_t g = 0; g < groups; ++g) {
          std::fill(center.begin() + g * L.channels, center.begin() + (g + 1) * L.channels, mp[n * groups + g]);
          affine_of(gamma, beta, g, L.channels, rp[n * groups + g], scale.data() + g * L.channels, shift.data() + g * L.channels);
        }
        dt::kernels::rows_backward_sums(gp + offset, xp + offset, dz.data_ptr<float>(), S, C, center.data(), scale.data(), shift.data(), silu, ds, db);
        if (need_dx) {
          for (int64_t g = 0; g < groups; ++g) {
            const auto [bg, cg] = dx_coefficients(gamma, ds + g * L.channels, db + g * L.channels, g, L.channels, rp[n * groups + g], M);
            std::fill(b.begin() + g * L.channels, b.begin() + (g + 1) * L.channels, bg);
            std::fill(c0.begin() + g * L.channels, c0.begin() + (g + 1) * L.channels, cg);
          }
          // scale holds r·γ_c, the coefficient of dz; dx has x's element type.
          dt::kernels::rows_backward_dx(dz.data_ptr<float>(), xp + offset, same_type(dx, xp) + offset, S, C, center.data(), scale.data(), b.data(), c0.data());
        }
        for (int64_t c = 0; c < C; ++c) ds[c] *= rp[n * groups + c / L.channels];
      }
    });
  });
  return sums.gradients(weight, bias);
}

Gradients backward(const at::Tensor& dy_in, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                   const at::Tensor& mean, const at::Tensor& rstd, int64_t groups, bool silu, bool need_dx, at::MemoryFormat format) {
  if (format != at::MemoryFormat::Contiguous) return backward_rows(dy_in, x, weight, bias, mean, rstd, groups, silu, need_dx, format);
  const auto L = layout_of(x, groups);
  auto dy = dy_in.contiguous();
  Sums sums(x, L.n, L.c, need_dx, at::MemoryFormat::Contiguous);
  const auto& dx = sums.dx;
  const float* gamma = floats_or_null(weight);
  const float* beta = floats_or_null(bias);
  const float* mp = mean.data_ptr<float>();
  const float* rp = rstd.data_ptr<float>();
  float* dsp = sums.ds.data_ptr<float>();
  float* dbp = sums.db.data_ptr<float>();
  const auto M = static_cast<double>(L.size());
  with_types(x, dy, [&](auto* xp, auto* gp) {
    at::parallel_for(0, L.count(), L.grain_groups(), [&](int64_t begin, int64_t end) {
      std::vector<float> scale(L.channels), shift(L.channels);
      const auto dz = scratch(L.size());
      for (int64_t k = begin; k < end; ++k) {
        const int64_t offset = k * L.size(), g = k % groups, first = (k / groups) * L.c + g * L.channels;
        const float mu = mp[k], r = rp[k];
        affine_of(gamma, beta, g, L.channels, r, scale.data(), shift.data());
        dt::kernels::group_backward_sums(gp + offset, xp + offset, dz.data_ptr<float>(), L.channels, L.positions, mu, scale.data(),
                                         shift.data(), silu, dsp + first, dbp + first);
        if (need_dx) {
          const auto [b, c0] = dx_coefficients(gamma, dsp + first, dbp + first, g, L.channels, r, M);
          // scale holds r·γ_c, the coefficient of dz; dx has x's element type.
          dt::kernels::group_backward_dx(dz.data_ptr<float>(), xp + offset, same_type(dx, xp) + offset, L.channels, L.positions, mu, scale.data(), b, c0);
        }
        for (int64_t d = 0; d < L.channels; ++d) dsp[first + d] *= r;
      }
    });
  });
  return sums.gradients(weight, bias);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct FusedGroupNorm : public torch::autograd::Function<FusedGroupNorm> {
  // γ and β as optionals: an undefined tensor argument would be taken for an input variable (and fail on its device).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const c10::optional<at::Tensor>& gamma,
                            const c10::optional<at::Tensor>& beta, int64_t groups, double eps, bool silu, int64_t output_type) {
    const auto weight = gamma.value_or(at::Tensor()), bias = beta.value_or(at::Tensor());
    const auto format = layout_format(x);
    auto f = ::forward(x.contiguous(format), weight, bias, groups, eps, silu, static_cast<at::ScalarType>(output_type), format);
    // x itself (not a contiguous copy), so a double backward can reach it through its graph.
    ctx->save_for_backward({x, weight, bias, f.mean, f.rstd});
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["silu"] = silu;
    ctx->saved_data["output_type"] = output_type;
    return f.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &bias = saved[2];
    const int64_t groups = ctx->saved_data["groups"].toInt();
    const bool silu = ctx->saved_data["silu"].toBool();
    const auto output_type = static_cast<at::ScalarType>(ctx->saved_data["output_type"].toInt());
    at::Tensor dx, dweight, dbias;
    if (!grads[0].defined()) return {dx, dweight, dbias, {}, {}, {}, {}};
    if (at::GradMode::is_enabled()) {
      // create_graph: the gradient must itself be differentiable, so differentiate ATen's composition of the same op.
      const double eps = ctx->saved_data["eps"].toDouble();
      auto z = at::group_norm(x.to(at::kFloat), groups, weight, bias, eps);
      auto y = (silu ? z * at::sigmoid(z) : z).to(output_type);  // ATen 1.13 has no derivative of silu_backward
      std::vector<at::Tensor> inputs;
      for (const auto& t : {x, weight, bias})
        if (t.defined() && t.requires_grad()) inputs.push_back(t);
      auto got = torch::autograd::grad({y}, inputs, {grads[0]}, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
      size_t i = 0;
      for (auto* slot : {&dx, &dweight, &dbias}) {
        const auto& t = slot == &dx ? x : slot == &dweight ? weight : bias;
        if (t.defined() && t.requires_grad()) *slot = got[i++];
      }
      return {dx, dweight, dbias, {}, {}, {}, {}};
    }
    // Gradients for every defined input (autograd drops those nobody asked for); γ's and β's are cheap by-products.
    const auto format = layout_format(x);
    auto g = ::backward(grads[0].to(output_type), x.contiguous(format), weight, bias, saved[3], saved[4], groups, silu, x.requires_grad(), format);
    return {g.dx, g.dweight, g.dbias, {}, {}, {}, {}};
  }
};

c10::optional<at::Tensor> opt_defined(const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; }

bool is_float_or_bf16(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16; }
}  // namespace

namespace dt {
at::Tensor group_norm_fused(const at::Tensor& x, int64_t groups, const at::Tensor& weight, const at::Tensor& bias, double eps,
                            bool silu, at::ScalarType output_type) {
  RECORD_USER_SCOPE(silu ? "dt::group_norm_silu" : "dt::group_norm");
  TORCH_CHECK(x.dim() >= 2, "group_norm: expected an input of shape (N, C, *spatial), got ", x.dim(), " dims ", x.sizes());
  TORCH_CHECK(x.device().is_cpu() && x.layout() == at::kStrided, "group_norm: the fused kernel runs on dense CPU tensors, got ",
              x.device(), " ", x.layout());
  TORCH_CHECK(is_float_or_bf16(x.scalar_type()), "group_norm: the fused kernel takes a float32 or bfloat16 input, got ", x.scalar_type());
  TORCH_CHECK(is_float_or_bf16(output_type), "group_norm: the fused kernel writes float32 or bfloat16, not ", output_type);
  const int64_t c = x.size(1);
  TORCH_CHECK(groups > 0 && c % groups == 0, "group_norm: groups=", groups, " must be positive and divide the ", c,
              " channels of input ", x.sizes());
  TORCH_CHECK(eps >= 0, "group_norm: eps=", eps, " must not be negative");
  for (const auto* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    const char* name = p == &weight ? "weight" : "bias";
    TORCH_CHECK(p->scalar_type() == at::kFloat, "group_norm: ", name, " must be float32, got ", p->scalar_type());
    TORCH_CHECK(p->device().is_cpu(), "group_norm: ", name, " must be on the CPU, got ", p->device());
    TORCH_CHECK(p->dim() == 1 && p->size(0) == c, "group_norm: ", name, " must have shape (", c, ") to match the channels of input ",
                x.sizes(), ", got ", p->sizes());
  }
  auto w = weight.defined() ? weight.contiguous() : weight;
  auto b = bias.defined() ? bias.contiguous() : bias;
  if (records_grad(x, w, b)) return FusedGroupNorm::apply(x, opt_defined(w), opt_defined(b), groups, eps, silu, static_cast<int64_t>(output_type));
  const auto format = layout_format(x);
  return ::forward(x.contiguous(format), w, b, groups, eps, silu, output_type, format).y;
}
}  // namespace dt

// Whether the bf16 channels-last tiles run on the AVX512-BF16 loops (norm_kernels_avx512.cpp), and switching them off
// or back on (torch.norm_intrinsics, torch.set_norm_intrinsics).
DT_API int dt_norm_intrinsics(int32_t* out) { DT_TRY(*out = dt::kernels::avx512::available()) }
DT_API int dt_set_norm_intrinsics(int32_t on) { DT_TRY(dt::kernels::avx512::set_enabled(on != 0)) }
