// bfloat16 linear layers on oneDNN's matmul directly, one primitive per shape built once and cached.
// ATen 1.13 sends a bfloat16 addmm to oneDNN through ideep, which builds the matmul's descriptors on every call, copies
// the bias into the output first (a sum post-op then adds the product) and reads the weight in its plain layout.
// Measured standalone, two threads, the primitive's time per call (x (m, k), weight (n, k), bias):
//   m × k × n              ATen     cached, plain weight   cached, weight reordered to oneDNN's blocked layout per call
//   2048 × 256 × 256       431 µs   408 µs                 345 µs    (DDPM's attention projections)
//   12544 × 384 × 384      5.59 ms  5.60 ms                4.36 ms   (DiT-S/2's on 64 images)
//   64 × 384 × 2304        282 µs   231 µs                 301 µs    (DiT's adaLN modulation)
//   512 × 256 × 256        131 µs   101 µs                 110 µs
//   3136 × 64 × 64         73 µs    46 µs                  56 µs     (unet28's attention projections)
//   3136 × 64 × 192        169 µs   129 µs                 123 µs
// The blocked weight pays once the product is large enough to hide its reorder: from m ≥ 1024 rows and m·k·n ≥ 2²⁵
// multiply-accumulates (blocked_weight, a rule fitted to those points), the plain weight below.
// The weight gradient dyᵀ·x sums over the m rows, and the matmul primitive (brgemm) reads a transposed dy slowly; oneDNN's
// GEMM for bf16 × bf16 → float32 (dnnl_gemm_bf16bf16f32, exported by libdnnl though not in its headers) does it better.
// Measured the same way, dw (n, k) for dy (m, n), x (m, k):
//   m × k × n              ATen (dy.t().mm(x))   matmul primitive   bf16 GEMM
//   12544 × 384 × 384      7.08 ms               7.17 ms            5.71 ms
//   12544 × 384 × 1536     27.5 ms               27.3 ms            20.7 ms
//   12544 × 1536 × 384     26.6 ms               26.4 ms            22.0 ms
//   2048 × 256 × 256       520 µs                487 µs             417 µs
//   3136 × 64 × 64         116 µs                84 µs              67 µs
//   64 × 512 × 256         64 µs                 41 µs              30 µs
#include "shim.h"
#include <ATen/record_function.h>
#include "linear_bf16.h"
#ifdef DT_HAVE_DNNL
#include <ATen/Parallel.h>
#include "onednn.h"
#include <dlfcn.h>
#include <tuple>

namespace {
using namespace dt::onednn;

// Row-major C (m, n) = alpha·op(A)·op(B) + beta·C over bf16 A and B (their bits) into float32 C; returns a dnnl_status_t,
// 0 on success (oneDNN's src/cpu/gemm/gemm.cpp). Looked up at run time: a oneDNN without it leaves the matmul primitive.
using GemmBf16 = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a, int64_t lda,
                         const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);
const GemmBf16 gemm_bf16 = [] {
  void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
  return library ? reinterpret_cast<GemmBf16>(dlsym(library, "dnnl_gemm_bf16bf16f32")) : nullptr;
}();

bool blocked_weight(int64_t m, int64_t k, int64_t n) { return m >= 1024 && m * k * n >= (int64_t{1} << 25); }

// C (m, n) = A (m, k) · B (k, n) [+ bias (n)], A and B each stored row-major as given or as the transpose.
struct Product {
  int64_t m, k, n;
  bool a_transposed, b_transposed, blocked_b, bias;
  bool operator<(const Product& o) const {
    return std::tie(m, k, n, a_transposed, b_transposed, blocked_b, bias) <
           std::tie(o.m, o.k, o.n, o.a_transposed, o.b_transposed, o.blocked_b, o.bias);
  }
};

Matmul make_matmul(const Product& p) {
  const memory::desc a({p.m, p.k}, dt_type::bf16, p.a_transposed ? tag::ba : tag::ab);
  const memory::desc b({p.k, p.n}, dt_type::bf16, p.blocked_b ? tag::any : p.b_transposed ? tag::ba : tag::ab);
  const memory::desc bias = p.bias ? memory::desc({1, p.n}, dt_type::bf16, tag::ab) : memory::desc();
  const memory::desc c({p.m, p.n}, dt_type::bf16, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, bias, c), engine());
  return Matmul{pd, dnnl::matmul(pd)};
}

std::shared_ptr<const Matmul> matmul(const Product& p) {
  static PrimitiveCache<Product, Matmul> cache;
  return cache.get(p, [&] { return make_matmul(p); });
}

// a (m, k) or, transposed, its (k, m) transpose's storage; b likewise (k, n) or (n, k). Returns (m, n).
at::Tensor run(const at::Tensor& a, bool a_transposed, const at::Tensor& b, bool b_transposed, const at::Tensor& bias, bool may_block) {
  at::internal::lazy_init_num_threads();  // oneDNN reads this thread's OpenMP thread count, which ATen sets lazily
  const int64_t m = a.size(a_transposed ? 1 : 0), k = a.size(a_transposed ? 0 : 1), n = b.size(b_transposed ? 0 : 1);
  const Product p{m, k, n, a_transposed, b_transposed, may_block && blocked_weight(m, k, n), bias.defined()};
  const auto held = matmul(p);
  const auto& mm = *held;
  auto c = at::empty({m, n}, a.options());
  dnnl::stream s(engine());
  memory given({{k, n}, dt_type::bf16, b_transposed ? tag::ba : tag::ab}, engine(), b.data_ptr());
  at::Tensor block_owner;
  memory weights = given;
  if (p.blocked_b) {
    weights = scratch(mm.pd.weights_desc(), block_owner);
    dnnl::reorder(given, weights).execute(s, given, weights);
  }
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(mm.pd.src_desc(), engine(), a.data_ptr())},
                                       {DNNL_ARG_WEIGHTS, weights},
                                       {DNNL_ARG_DST, memory(mm.pd.dst_desc(), engine(), c.data_ptr())}};
  if (p.bias) args.emplace(DNNL_ARG_BIAS, memory(mm.pd.bias_desc(), engine(), bias.data_ptr()));
  mm.primitive.execute(s, args);
  s.wait();
  return c;
}
}  // namespace

namespace dt::linear_bf16 {
bool available() { return true; }

at::Tensor forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  RECORD_USER_SCOPE("dt::linear_bf16");  // named for the op profiler (profiler.cpp)
  return run(x, false, w, true, b, true);
}

at::Tensor input_gradient(const at::Tensor& dy, const at::Tensor& w) {
  RECORD_USER_SCOPE("dt::linear_bf16_backward");
  return run(dy, false, w, false, at::Tensor(), true);
}

at::Tensor weight_gradient(const at::Tensor& dy, const at::Tensor& x) {
  RECORD_USER_SCOPE("dt::linear_bf16_backward");
  if (!gemm_bf16) return run(dy, true, x, false, at::Tensor(), false);
  at::internal::lazy_init_num_threads();
  const int64_t m = dy.size(0), n = dy.size(1), k = x.size(1);
  auto dw = at::empty({n, k}, dy.options().dtype(at::kFloat));
  const int status = gemm_bf16('T', 'N', n, k, m, 1.0f, dt::bits(dy), n, dt::bits(x), k, 0.0f, dw.data_ptr<float>(), k);
  TORCH_CHECK(status == 0, "oneDNN's bf16 GEMM failed with status ", status, " for (", n, " x ", m, ") · (", m, " x ", k, ")");
  return dw.to(at::kBFloat16);  // rounded once: autograd wants the gradient in its input's type
}
}  // namespace dt::linear_bf16
#else
namespace dt::linear_bf16 {
bool available() { return false; }
at::Tensor forward(const at::Tensor&, const at::Tensor&, const at::Tensor&) { TORCH_CHECK(false, "built without oneDNN's headers"); }
at::Tensor input_gradient(const at::Tensor&, const at::Tensor&) { TORCH_CHECK(false, "built without oneDNN's headers"); }
at::Tensor weight_gradient(const at::Tensor&, const at::Tensor&) { TORCH_CHECK(false, "built without oneDNN's headers"); }
}  // namespace dt::linear_bf16
#endif
