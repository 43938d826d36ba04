// Views, reshapes, joins and splits, indexing.
#include "shim.h"
#include "channel_cat.h"

DT_API int dt_reshape(TensorH a, const int64_t* shape, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->reshape(dt::ints(shape, n))))
}
DT_API int dt_view(TensorH a, const int64_t* shape, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->view(dt::ints(shape, n))))
}
DT_API int dt_permute(TensorH a, const int64_t* dims, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->permute(dt::ints(dims, n))))
}
DT_API int dt_transpose(TensorH a, int64_t d0, int64_t d1, TensorH* out) { DT_TRY(*out = dt::wrap(a->transpose(d0, d1))) }
DT_API int dt_flatten(TensorH a, int64_t start, int64_t end, TensorH* out) { DT_TRY(*out = dt::wrap(a->flatten(start, end))) }
DT_API int dt_unflatten(TensorH a, int64_t dim, const int64_t* sizes, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->unflatten(dim, dt::ints(sizes, n))))
}
DT_API int dt_unsqueeze(TensorH a, int64_t dim, TensorH* out) { DT_TRY(*out = dt::wrap(a->unsqueeze(dim))) }
// has_dim == 0 removes every size-1 dim.
DT_API int dt_squeeze(TensorH a, int64_t dim, int32_t has_dim, TensorH* out) {
  DT_TRY(*out = dt::wrap(has_dim ? a->squeeze(dim) : a->squeeze()))
}
DT_API int dt_expand(TensorH a, const int64_t* shape, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->expand(dt::ints(shape, n))))
}
DT_API int dt_repeat(TensorH a, const int64_t* repeats, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->repeat(dt::ints(repeats, n))))
}
DT_API int dt_flip(TensorH a, const int64_t* dims, int32_t n, TensorH* out) { DT_TRY(*out = dt::wrap(a->flip(dt::ints(dims, n)))) }
// Channels-last activations joined along channels under autograd take channel_cat.cpp, whose backward returns
// contiguous gradients (ATen's strided channel slices made the skip's gradient sum slow).
DT_API int dt_cat(const TensorH* ts, int32_t n, int64_t dim, TensorH* out) {
  DT_TRY(
      const auto tensors = dt::list(ts, n);
      const int64_t d = dim < 0 && n > 0 ? dim + tensors[0].dim() : dim;
      *out = dt::wrap(dt::channel_cat_applies(tensors, d) ? dt::channel_cat(tensors) : at::cat(tensors, dim)))
}
DT_API int dt_stack(const TensorH* ts, int32_t n, int64_t dim, TensorH* out) { DT_TRY(*out = dt::wrap(at::stack(dt::list(ts, n), dim))) }

namespace {
int write_list(const std::vector<at::Tensor>& parts, TensorH* outs, int32_t cap, int32_t* count) {
  TORCH_CHECK(static_cast<int32_t>(parts.size()) <= cap, "result has ", parts.size(), " parts but room for ", cap);
  for (size_t k = 0; k < parts.size(); ++k) outs[k] = dt::wrap(parts[k]);
  *count = static_cast<int32_t>(parts.size());
  return 0;
}
}  // namespace

DT_API int dt_chunk(TensorH a, int64_t chunks, int64_t dim, TensorH* outs, int32_t cap, int32_t* count) {
  DT_TRY(write_list(a->chunk(chunks, dim), outs, cap, count))
}
DT_API int dt_split_sizes(TensorH a, const int64_t* sizes, int32_t n, int64_t dim, TensorH* outs, int32_t cap, int32_t* count) {
  DT_TRY(write_list(a->split_with_sizes(dt::ints(sizes, n), dim), outs, cap, count))
}
DT_API int dt_split(TensorH a, int64_t size, int64_t dim, TensorH* outs, int32_t cap, int32_t* count) {
  DT_TRY(write_list(a->split(size, dim), outs, cap, count))
}
DT_API int dt_unbind(TensorH a, int64_t dim, TensorH* outs, int32_t cap, int32_t* count) {
  DT_TRY(write_list(a->unbind(dim), outs, cap, count))
}
DT_API int dt_narrow(TensorH a, int64_t dim, int64_t start, int64_t length, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->narrow(dim, start, length)))
}
DT_API int dt_slice(TensorH a, int64_t dim, int64_t start, int64_t end, int64_t step, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->slice(dim, start, end, step)))
}
DT_API int dt_select(TensorH a, int64_t dim, int64_t index, TensorH* out) { DT_TRY(*out = dt::wrap(a->select(dim, index))) }
DT_API int dt_index_select(TensorH a, int64_t dim, TensorH index, TensorH* out) {
  DT_TRY(*out = dt::wrap(a->index_select(dim, *index)))
}
DT_API int dt_gather(TensorH a, int64_t dim, TensorH index, TensorH* out) { DT_TRY(*out = dt::wrap(a->gather(dim, *index))) }
DT_API int dt_masked_select(TensorH a, TensorH mask, TensorH* out) { DT_TRY(*out = dt::wrap(a->masked_select(*mask))) }

// ---- linear algebra ----
DT_API int dt_matmul(TensorH a, TensorH b, TensorH* out) { DT_TRY(*out = dt::wrap(at::matmul(*a, *b))) }
DT_API int dt_bmm(TensorH a, TensorH b, TensorH* out) { DT_TRY(*out = dt::wrap(at::bmm(*a, *b))) }
DT_API int dt_einsum(const char* equation, const TensorH* ts, int32_t n, TensorH* out) {
  DT_TRY(*out = dt::wrap(at::einsum(equation, dt::list(ts, n))))
}
DT_API int dt_outer(TensorH a, TensorH b, TensorH* out) { DT_TRY(*out = dt::wrap(at::outer(*a, *b))) }
