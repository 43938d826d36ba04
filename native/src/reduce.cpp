// Reductions over all elements or over given dims.
#include "shim.h"

namespace {
// Codes shared with Diffusion.Torch's ReduceOp, both made from opcodes.def.
enum Reduce : int32_t {
#define DT_REDUCE(cpp, cs) cpp,
#include "opcodes.def"
};

// prod/any/all take a single dim in 1.13: reduce the highest dim first so the rest keep their index.
template <typename F>
at::Tensor one_dim_at_a_time(const at::Tensor& a, at::IntArrayRef dims, bool keepdim, F f) {
  std::vector<int64_t> ds(dims.begin(), dims.end());
  for (auto& d : ds) d = c10::maybe_wrap_dim(d, a.dim());
  std::sort(ds.rbegin(), ds.rend());
  at::Tensor r = a;
  for (auto d : ds) r = f(r, d, keepdim);
  return r;
}

at::Tensor reduce(int32_t op, const at::Tensor& a, at::IntArrayRef dims, bool all, bool keepdim) {
  // An empty dim list means "all dims" for sum/mean/amax/amin in ATen, but not for the others.
  std::vector<int64_t> every;
  if (all) {
    for (int64_t d = 0; d < a.dim(); ++d) every.push_back(d);
    dims = every;
  }
  switch (op) {
    case SUM: return at::sum(a, dims, keepdim);
    case MEAN: return at::mean(a, dims, keepdim);
    case AMAX: return at::amax(a, dims, keepdim);
    case AMIN: return at::amin(a, dims, keepdim);
    case PROD: return one_dim_at_a_time(a, dims, keepdim, [](const at::Tensor& r, int64_t d, bool k) { return at::prod(r, d, k); });
    case LOGSUMEXP: return at::logsumexp(a, dims, keepdim);
    case ANY: return one_dim_at_a_time(a, dims, keepdim, [](const at::Tensor& r, int64_t d, bool k) { return at::any(r, d, k); });
    case ALL: return one_dim_at_a_time(a, dims, keepdim, [](const at::Tensor& r, int64_t d, bool k) { return at::all(r, d, k); });
    case NORM2: return at::linalg_vector_norm(a, 2, dims, keepdim);
  }
  TORCH_CHECK(false, "unknown reduction code ", op);
}
}  // namespace

// dims == null reduces over every dim.
DT_API int dt_reduce(int32_t op, TensorH a, const int64_t* dims, int32_t ndims, int32_t keepdim, TensorH* out) {
  DT_TRY(*out = dt::wrap(reduce(op, *a, dt::ints(dims, dims ? ndims : 0), dims == nullptr, keepdim != 0)))
}
DT_API int dt_var(TensorH a, const int64_t* dims, int32_t ndims, int64_t correction, int32_t keepdim, int32_t take_sqrt, TensorH* out) {
  DT_TRY(c10::optional<at::IntArrayRef> d; if (dims) d = dt::ints(dims, ndims);
         *out = dt::wrap(take_sqrt ? at::std(*a, d, c10::optional<int64_t>(correction), keepdim != 0)
                                   : at::var(*a, d, c10::optional<int64_t>(correction), keepdim != 0)))
}
// Values and indices along one dim; is_max selects max or min.
DT_API int dt_minmax_dim(TensorH a, int64_t dim, int32_t keepdim, int32_t is_max, TensorH* values, TensorH* indices) {
  DT_TRY(auto r = is_max ? at::max(*a, dim, keepdim != 0) : at::min(*a, dim, keepdim != 0);
         *values = dt::wrap(std::get<0>(r)); *indices = dt::wrap(std::get<1>(r)))
}
// has_dim == 0 searches the flattened tensor, as torch.argmax(x) does.
DT_API int dt_argminmax(TensorH a, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t is_max, TensorH* out) {
  DT_TRY(c10::optional<int64_t> d; if (has_dim) d = dim;
         *out = dt::wrap(is_max ? at::argmax(*a, d, keepdim != 0) : at::argmin(*a, d, keepdim != 0)))
}
DT_API int dt_cumsum(TensorH a, int64_t dim, TensorH* out) { DT_TRY(*out = dt::wrap(at::cumsum(*a, dim))) }
