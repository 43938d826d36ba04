// Elementwise arithmetic, comparisons and in-place updates. Ops are chosen by a code
// shared with Diffusion.Torch (UnaryOp / BinaryOp enums, both made from opcodes.def), which keeps the shim small.
#include "shim.h"
#include "activations.h"
#include "channel_add.h"

namespace {
enum Unary : int32_t {
#define DT_UNARY(cpp, cs) cpp,
#include "opcodes.def"
};
enum Binary : int32_t {
#define DT_BINARY(cpp, cs) cpp,
#include "opcodes.def"
};

at::Tensor unary(int32_t op, const at::Tensor& a) {
  switch (op) {
    case NEG: return at::neg(a);
    case ABS: return at::abs(a);
    case EXP: return at::exp(a);
    case LOG: return at::log(a);
    case SQRT: return at::sqrt(a);
    case RSQRT: return at::rsqrt(a);
    case SIN: return at::sin(a);
    case COS: return at::cos(a);
    case TANH: return at::tanh(a);
    case SIGMOID: return at::sigmoid(a);
    case RELU: return at::relu(a);
    case SILU: return dt::silu(a);
    case GELU: return at::gelu(a, "none");
    case GELU_TANH: return dt::gelu_tanh(a);
    case SIGN: return at::sign(a);
    case FLOOR: return at::floor(a);
    case CEIL: return at::ceil(a);
    case ROUND: return at::round(a);
    case LOG1P: return at::log1p(a);
    case EXPM1: return at::expm1(a);
    case RECIPROCAL: return at::reciprocal(a);
    case SQUARE: return at::square(a);
    case ERF: return at::erf(a);
    case LOGICAL_NOT: return at::logical_not(a);
    case TRUNC: return at::trunc(a);
    case LOG2: return at::log2(a);
    case ISNAN: return at::isnan(a);
    case ISFINITE: return at::isfinite(a);
    case SOFTPLUS: return at::softplus(a);
    case MISH: return at::mish(a);
    case EXP2: return at::exp2(a);
  }
  TORCH_CHECK(false, "unknown unary op code ", op);
}

void unary_(int32_t op, at::Tensor& a) {
  switch (op) {
    case NEG: a.neg_(); return;
    case ABS: a.abs_(); return;
    case EXP: a.exp_(); return;
    case LOG: a.log_(); return;
    case SQRT: a.sqrt_(); return;
    case RSQRT: a.rsqrt_(); return;
    case SIN: a.sin_(); return;
    case COS: a.cos_(); return;
    case TANH: a.tanh_(); return;
    case SIGMOID: a.sigmoid_(); return;
    case RELU: a.relu_(); return;
    case SILU: at::silu_(a); return;
    case SIGN: a.sign_(); return;
    case FLOOR: a.floor_(); return;
    case CEIL: a.ceil_(); return;
    case ROUND: a.round_(); return;
    case RECIPROCAL: a.reciprocal_(); return;
    case SQUARE: a.square_(); return;
    default: TORCH_CHECK(false, "unary op code ", op, " has no in-place form");
  }
}

template <typename B>
at::Tensor binary(int32_t op, const at::Tensor& a, const B& b) {
  switch (op) {
    case ADD: return at::add(a, b);
    case SUB: return at::sub(a, b);
    case MUL: return at::mul(a, b);
    case DIV: return at::div(a, b);
    case POW: return at::pow(a, b);
    case EQ: return at::eq(a, b);
    case NE: return at::ne(a, b);
    case LT: return at::lt(a, b);
    case LE: return at::le(a, b);
    case GT: return at::gt(a, b);
    case GE: return at::ge(a, b);
    case REMAINDER: return at::remainder(a, b);
    case FLOOR_DIVIDE: return at::floor_divide(a, b);
    default: break;
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    switch (op) {
      case MAXIMUM: return at::maximum(a, b);
      case MINIMUM: return at::minimum(a, b);
      case LOGICAL_AND: return at::logical_and(a, b);
      case LOGICAL_OR: return at::logical_or(a, b);
      case ATAN2: return at::atan2(a, b);
      default: break;
    }
  } else {
    auto s = at::scalar_tensor(b, a.options().dtype(at::result_type(a, b)));
    return binary<at::Tensor>(op, a, s);
  }
  TORCH_CHECK(false, "unknown binary op code ", op);
}

template <typename B>
void binary_(int32_t op, at::Tensor& a, const B& b) {
  switch (op) {
    case ADD: a.add_(b); return;
    case SUB: a.sub_(b); return;
    case MUL: a.mul_(b); return;
    case DIV: a.div_(b); return;
    case POW: a.pow_(b); return;
    case REMAINDER: a.remainder_(b); return;
    default: TORCH_CHECK(false, "binary op code ", op, " has no in-place form");
  }
}
}  // namespace

DT_API int dt_unary(int32_t op, TensorH a, TensorH* out) { DT_TRY(*out = dt::wrap(unary(op, *a))) }
DT_API int dt_unary_(int32_t op, TensorH a) { DT_TRY(unary_(op, *a)) }
// A channels-last activation plus a per-sample channel term (a ResBlock's time embedding) takes the shim's kernel
// (channel_add.cpp): ATen's loop over C-element rows is slow for few channels.
DT_API int dt_binary(int32_t op, TensorH a, TensorH b, TensorH* out) {
  DT_TRY(*out = dt::wrap(op == ADD && dt::channel_add_applies(*a, *b) ? dt::channel_add(*a, *b) : binary(op, *a, *b)))
}
DT_API int dt_binary_scalar(int32_t op, TensorH a, DtScalar b, TensorH* out) {
  DT_TRY(*out = dt::wrap(binary(op, *a, dt::scalar(b))))
}
DT_API int dt_scalar_binary(int32_t op, DtScalar a, TensorH b, TensorH* out) {
  DT_TRY(auto s = at::scalar_tensor(dt::scalar(a), b->options().dtype(at::result_type(*b, dt::scalar(a))));
         *out = dt::wrap(binary(op, s, *b)))
}
DT_API int dt_binary_(int32_t op, TensorH a, TensorH b) { DT_TRY(binary_(op, *a, *b)) }
DT_API int dt_binary_scalar_(int32_t op, TensorH a, DtScalar b) { DT_TRY(binary_(op, *a, dt::scalar(b))) }

// ---- ops with extra arguments ----
DT_API int dt_add_scaled(TensorH a, TensorH b, DtScalar alpha, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::add(*a, *b, dt::scalar(alpha))))
}
DT_API int dt_add_scaled_(TensorH a, TensorH b, DtScalar alpha) { DT_TRY(a->add_(*b, dt::scalar(alpha))) }
DT_API int dt_addcmul_(TensorH a, TensorH b, TensorH c, DtScalar value) { DT_TRY(a->addcmul_(*b, *c, dt::scalar(value))) }
DT_API int dt_addcdiv_(TensorH a, TensorH b, TensorH c, DtScalar value) { DT_TRY(a->addcdiv_(*b, *c, dt::scalar(value))) }
DT_API int dt_lerp_(TensorH a, TensorH end, DtScalar weight) { DT_TRY(a->lerp_(*end, dt::scalar(weight))) }
DT_API int dt_copy_(TensorH dst, TensorH src) { DT_TRY(dst->copy_(*src)) }
DT_API int dt_zero_(TensorH a) { DT_TRY(a->zero_()) }
DT_API int dt_fill_(TensorH a, DtScalar value) { DT_TRY(a->fill_(dt::scalar(value))) }
DT_API int dt_where(TensorH cond, TensorH a, TensorH b, TensorH* out) { DT_TRY(*out = dt::wrap(at::where(*cond, *a, *b))) }
DT_API int dt_masked_fill(TensorH a, TensorH mask, DtScalar value, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->masked_fill(*mask, dt::scalar(value))))
}
// Absent bounds are passed as null pointers.
DT_API int dt_clamp(TensorH a, const DtScalar* lo, const DtScalar* hi, TensorH* out) {
  DT_TRY(c10::optional<at::Scalar> l, h; if (lo) l = dt::scalar(*lo); if (hi) h = dt::scalar(*hi);
         *out = dt::wrap(at::clamp(*a, l, h)))
}
DT_API int dt_clamp_(TensorH a, const DtScalar* lo, const DtScalar* hi) {
  DT_TRY(c10::optional<at::Scalar> l, h; if (lo) l = dt::scalar(*lo); if (hi) h = dt::scalar(*hi); at::clamp_(*a, l, h))
}
DT_API int dt_allclose(TensorH a, TensorH b, double rtol, double atol, int32_t* out) {
  DT_TRY(*out = at::allclose(*a, *b, rtol, atol))
}
DT_API int dt_equal(TensorH a, TensorH b, int32_t* out) { DT_TRY(*out = at::equal(*a, *b)) }
