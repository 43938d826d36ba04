// Functional neural-network ops (torch.nn.functional). Composition of layers stays in C#.
#include "shim.h"
#include "upsample.h"
#include "gemm.h"
#include "group_norm.h"
#include "conv_onednn.h"
#include "conv_narrow.h"

DT_API int dt_linear(TensorH x, TensorH w, TensorH b, TensorH* out) { DT_TRY(*out = dt::wrap(dt::linear(*x, *w, dt::or_undefined(b)))) }

// Convolution of any spatial rank; n is the number of spatial dims (1, 2 or 3). A bfloat16 channels-last image or volume
// goes to oneDNN directly (conv_onednn.cpp) — but a volume with at most 4 output channels to the shim's row kernels
// (conv_narrow.cpp); everything else to ATen.
DT_API int dt_convolution(TensorH x, TensorH w, TensorH b, const int64_t* stride, const int64_t* padding,
                          const int64_t* dilation, int32_t transposed, const int64_t* output_padding, int32_t n,
                          int64_t groups, TensorH* out) {
  DT_TRY(
      const auto bias = dt::or_undefined(b);
      if (dt::conv_narrow_applies(*x, *w, bias, dt::ints(stride, n), dt::ints(padding, n), dt::ints(dilation, n), transposed != 0,
                                  groups)) {
        *out = dt::wrap(dt::conv_narrow(*x, *w, bias, padding[0]));
      } else if (dt::conv_channels_last_applies(*x, *w, bias, dt::ints(stride, n), dt::ints(padding, n), dt::ints(dilation, n),
                                                  transposed != 0, groups)) {
        *out = dt::wrap(dt::conv_channels_last(*x, *w, bias, stride[0], padding[0]));
      } else {
        *out = dt::wrap(at::convolution(*x, *w, dt::opt(b), dt::ints(stride, n), dt::ints(padding, n), dt::ints(dilation, n),
                                        transposed != 0, dt::ints(output_padding, n), groups));
      })
}
DT_API int dt_group_norm(TensorH x, int64_t groups, TensorH w, TensorH b, double eps, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::group_norm(*x, groups, dt::opt(w), dt::opt(b), eps)))
}
// Our fused kernel (group_norm.cpp): float32 or bfloat16 x, float32 statistics, SiLU when silu != 0, output in output_dtype.
DT_API int dt_group_norm_fused(TensorH x, int64_t groups, TensorH w, TensorH b, double eps, int32_t silu, int32_t output_dtype,
                               TensorH* out) {
  DT_TRY(*out = dt::wrap(dt::group_norm_fused(*x, groups, dt::or_undefined(w), dt::or_undefined(b), eps, silu != 0,
                                              static_cast<at::ScalarType>(output_dtype))))
}
DT_API int dt_layer_norm(TensorH x, const int64_t* shape, int32_t n, TensorH w, TensorH b, double eps, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::layer_norm(*x, dt::ints(shape, n), dt::opt(w), dt::opt(b), eps)))
}
// Running statistics (when given) are updated in place in training mode, as in PyTorch.
DT_API int dt_batch_norm(TensorH x, TensorH w, TensorH b, TensorH running_mean, TensorH running_var, int32_t training,
                         double momentum, double eps, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::batch_norm(*x, dt::opt(w), dt::opt(b), dt::opt(running_mean), dt::opt(running_var),
                                        training != 0, momentum, eps, /*cudnn_enabled=*/true)))
}
DT_API int dt_instance_norm(TensorH x, TensorH w, TensorH b, TensorH running_mean, TensorH running_var,
                            int32_t use_input_stats, double momentum, double eps, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::instance_norm(*x, dt::opt(w), dt::opt(b), dt::opt(running_mean), dt::opt(running_var),
                                           use_input_stats != 0, momentum, eps, /*cudnn_enabled=*/true)))
}
// Constant padding of the last n/2 dims, pairs (before, after) starting from the last dim, as F.pad.
DT_API int dt_pad(TensorH x, const int64_t* pad, int32_t n, double value, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::constant_pad_nd(*x, dt::ints(pad, n), value)))
}
DT_API int dt_softmax(TensorH x, int64_t dim, int32_t log, TensorH* out) {
  DT_TRY(*out = dt::wrap(log ? at::log_softmax(*x, dim) : at::softmax(*x, dim)))
}
DT_API int dt_leaky_relu(TensorH x, double slope, TensorH* out) { DT_TRY(*out = dt::wrap(at::leaky_relu(*x, slope))) }

// Dropout with an explicit generator: at::dropout cannot take one, so draw the mask here.
DT_API int dt_dropout(TensorH x, double p, int32_t training, GeneratorH g, TensorH* out) {
  DT_TRY(
      TORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
      if (!training || p == 0) { *out = dt::wrap(*x); return 0; }
      if (p == 1) { *out = dt::wrap(at::zeros_like(*x)); return 0; }
      auto keep = at::empty_like(*x, x->options().requires_grad(false)).bernoulli_(1 - p, dt::gen(g));
      *out = dt::wrap(*x * keep.div_(1 - p)))
}

// Pooling of any spatial rank n (2 or 3 for avg, 1..3 for max).
DT_API int dt_avg_pool(TensorH x, const int64_t* kernel, const int64_t* stride, const int64_t* padding, int32_t n,
                       int32_t ceil_mode, int32_t count_include_pad, TensorH* out) {
  DT_TRY(auto k = dt::ints(kernel, n); auto s = dt::ints(stride, n); auto p = dt::ints(padding, n);
         switch (n) {
           case 1: *out = dt::wrap(at::avg_pool1d(*x, k, s, p, ceil_mode != 0, count_include_pad != 0)); break;
           case 2: *out = dt::wrap(at::avg_pool2d(*x, k, s, p, ceil_mode != 0, count_include_pad != 0)); break;
           case 3: *out = dt::wrap(at::avg_pool3d(*x, k, s, p, ceil_mode != 0, count_include_pad != 0)); break;
           default: TORCH_CHECK(false, "avg_pool supports 1, 2 or 3 spatial dims, got ", n);
         })
}
DT_API int dt_max_pool(TensorH x, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                       const int64_t* dilation, int32_t n, int32_t ceil_mode, TensorH* out) {
  DT_TRY(auto k = dt::ints(kernel, n); auto s = dt::ints(stride, n); auto p = dt::ints(padding, n); auto d = dt::ints(dilation, n);
         switch (n) {
           case 1: *out = dt::wrap(at::max_pool1d(*x, k, s, p, d, ceil_mode != 0)); break;
           case 2: *out = dt::wrap(at::max_pool2d(*x, k, s, p, d, ceil_mode != 0)); break;
           case 3: *out = dt::wrap(at::max_pool3d(*x, k, s, p, d, ceil_mode != 0)); break;
           default: TORCH_CHECK(false, "max_pool supports 1, 2 or 3 spatial dims, got ", n);
         })
}

// mode: 0 nearest, 1 linear over every spatial dim (bilinear in 2D, trilinear in 3D).
// The output size is computed in C# (from a size or scale factors), as F.interpolate does. When the
// caller gave scale factors, `scales` holds them (else null): the kernels then map output to input
// coordinates by 1/scale rather than in/out, which differs whenever in·scale is not an integer.
DT_API int dt_interpolate(TensorH x, const int64_t* size, const double* scales, int32_t n, int32_t mode, int32_t align_corners,
                          TensorH* out) {
  DT_TRY(auto s = dt::ints(size, n); bool ac = align_corners != 0;
         auto sc = [&](int k) { return scales ? c10::optional<double>(scales[k]) : c10::nullopt; };
         bool doubles = n >= 2 && x->dim() == n + 2;
         for (int k = 0; k < n && doubles; ++k) doubles = s[k] == 2 * x->size(2 + k) && (!scales || scales[k] == 2.0);
         if (mode == 0 && doubles && dt::upsample_nearest2x_applies(*x)) {
           *out = dt::wrap(dt::upsample_nearest2x(*x));  // channels-last ×2: our kernel (upsample.cpp)
         } else if (mode == 0) {
           switch (n) {
             case 1: *out = dt::wrap(at::upsample_nearest1d(*x, s, sc(0))); break;
             case 2: *out = dt::wrap(at::upsample_nearest2d(*x, s, sc(0), sc(1))); break;
             case 3: *out = dt::wrap(at::upsample_nearest3d(*x, s, sc(0), sc(1), sc(2))); break;
             default: TORCH_CHECK(false, "nearest interpolation supports 1, 2 or 3 spatial dims, got ", n);
           }
         } else {
           switch (n) {
             case 1: *out = dt::wrap(at::upsample_linear1d(*x, s, ac, sc(0))); break;
             case 2: *out = dt::wrap(at::upsample_bilinear2d(*x, s, ac, sc(0), sc(1))); break;
             case 3: *out = dt::wrap(at::upsample_trilinear3d(*x, s, ac, sc(0), sc(1), sc(2))); break;
             default: TORCH_CHECK(false, "linear interpolation supports 1, 2 or 3 spatial dims, got ", n);
           }
         })
}
DT_API int dt_embedding(TensorH weight, TensorH indices, TensorH* out) { DT_TRY(*out = dt::wrap(at::embedding(*weight, *indices))) }

// softmax(q kᵀ · scale + mask) v, composed from ATen ops because 1.13 has no public fused kernel.
// A boolean mask marks positions that may be attended to; a float mask is added to the scores.
// Reduced-precision (bfloat16) q, k, v: both matmuls run in that type, but the scores are scaled, masked and
// softmaxed in float32 (a bfloat16 exp and sum lose the small weights), and the weights cast back for A·V.
DT_API int dt_scaled_dot_product_attention(TensorH q, TensorH k, TensorH v, TensorH mask, double dropout_p,
                                           int32_t is_causal, double scale, GeneratorH g, TensorH* out) {
  DT_TRY(
      TORCH_CHECK(q->dim() >= 2 && k->dim() >= 2 && v->dim() >= 2, "query, key and value need at least 2 dims");
      TORCH_CHECK(q->size(-1) == k->size(-1), "query and key disagree on the last dim: ", q->size(-1), " vs ", k->size(-1));
      TORCH_CHECK(k->size(-2) == v->size(-2), "key and value disagree on the sequence dim: ", k->size(-2), " vs ", v->size(-2));
      double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(q->size(-1)));
      const bool reduced = q->scalar_type() == at::kBFloat16 || q->scalar_type() == at::kHalf;
      auto scores = at::matmul(*q, k->transpose(-2, -1));  // (..., L, S)
      if (reduced) scores = scores.to(at::kFloat);
      scores.mul_(s);
      if (is_causal) {
        auto keep = at::ones({q->size(-2), k->size(-2)}, q->options().dtype(at::kBool)).tril();
        scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
      }
      if (mask) {
        scores = mask->scalar_type() == at::kBool
                     ? scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity())
                     : scores + *mask;
      }
      auto attn = at::softmax(scores, -1);
      if (reduced) attn = attn.to(v->scalar_type());
      if (dropout_p > 0) {
        auto keep = at::empty_like(attn, attn.options().requires_grad(false)).bernoulli_(1 - dropout_p, dt::gen(g));
        attn = attn * keep.div_(1 - dropout_p);
      }
      *out = dt::wrap(at::matmul(attn, *v)))
}

// reduction: 0 none, 1 mean, 2 sum (at::Reduction codes).
DT_API int dt_mse_loss(TensorH a, TensorH b, int32_t reduction, TensorH* out) { DT_TRY(*out = dt::wrap(at::mse_loss(*a, *b, reduction))) }
DT_API int dt_l1_loss(TensorH a, TensorH b, int32_t reduction, TensorH* out) { DT_TRY(*out = dt::wrap(at::l1_loss(*a, *b, reduction))) }
