#!/usr/bin/python3
"""Writes ops.json: PyTorch (1.13) reference results for the C# binding tests.

Run with Debian's python (the one that has torch):  /usr/bin/python3 make_op_fixtures.py
Each case is {name, op, args, inputs: [{shape, dtype, data}], expected: {shape, dtype, data}};
FixtureTests.cs dispatches `op` to the C# call with `args` and compares against `expected`.
Inputs are seeded, rounded to 3 decimals and listed explicitly, so the C# side needs no RNG.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
cases = []

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.bool: "bool",
          torch.float16: "float16", torch.bfloat16: "bfloat16"}


def encode(t):
    """Shortest text that round-trips in the tensor's own precision (C# parses float32 with GetSingle)."""
    t = t.detach().contiguous()
    flat = t.reshape(-1)
    if t.dtype == torch.bool:
        data = [int(v) for v in flat.tolist()]
    elif t.dtype == torch.int64:
        data = flat.tolist()
    elif t.dtype == torch.float64:
        data = flat.tolist()
    elif t.dtype == torch.float16:
        data = [float(str(np.float16(v))) for v in flat.float().tolist()]
    else:  # float32, bfloat16 (exact in float32)
        data = [float(str(np.float32(v))) for v in flat.float().tolist()]
    return {"shape": list(t.shape), "dtype": DTYPES[t.dtype], "data": data}


def rnd(*shape, dtype=torch.float32, lo=None):
    x = torch.randn(*shape, dtype=torch.float64)
    if lo is not None:
        x = x.abs() + lo
    return torch.round(x * 1000).div(1000).to(dtype)


def case(name, op, inputs, fn, **args):
    out = fn(*inputs)
    cases.append({"name": name, "op": op, "args": args, "inputs": [encode(t) for t in inputs], "expected": encode(out)})


# ---- creation (no inputs) ----
case("zeros_2x3", "zeros", [], lambda: torch.zeros(2, 3), shape=[2, 3], dtype="float32")
case("ones_int64", "ones", [], lambda: torch.ones(4, dtype=torch.int64), shape=[4], dtype="int64")
case("full_f64", "full", [], lambda: torch.full((2, 2), 2.5, dtype=torch.float64), shape=[2, 2], value=2.5, dtype="float64")
case("full_bool", "full", [], lambda: torch.full((3,), True), shape=[3], value=1.0, dtype="bool")
case("arange_int", "arange", [], lambda: torch.arange(2, 11, 3), start=2, end=11, step=3, dtype="int64")
case("arange_float", "arange", [], lambda: torch.arange(0.0, 1.0, 0.25), start=0.0, end=1.0, step=0.25, dtype="float32")
case("arange_neg_step", "arange", [], lambda: torch.arange(5, -1, -2), start=5, end=-1, step=-2, dtype="int64")
case("linspace_5", "linspace", [], lambda: torch.linspace(-1, 1, 5), start=-1.0, end=1.0, steps=5, dtype="float32")
case("linspace_f64", "linspace", [], lambda: torch.linspace(0, 1, 7, dtype=torch.float64), start=0.0, end=1.0, steps=7, dtype="float64")
case("eye_3", "eye", [], lambda: torch.eye(3), n=3, m=3, dtype="float32")
case("eye_2x4", "eye", [], lambda: torch.eye(2, 4, dtype=torch.int64), n=2, m=4, dtype="int64")

# ---- dtype conversions ----
a = rnd(2, 5) * 3
case("to_float16", "to", [a], lambda x: x.half(), dtype="float16")
case("to_bfloat16", "to", [a], lambda x: x.bfloat16(), dtype="bfloat16")
case("to_float64", "to", [a], lambda x: x.double(), dtype="float64")
case("to_int64_truncates", "to", [a], lambda x: x.long(), dtype="int64")
case("to_bool", "to", [torch.tensor([0.0, 1.5, -2.0, 0.0])], lambda x: x.bool(), dtype="bool")
case("float16_to_float32", "to", [rnd(6).half()], lambda x: x.float(), dtype="float32")
case("bfloat16_to_float32", "to", [rnd(6).bfloat16()], lambda x: x.float(), dtype="float32")
case("int64_to_float32", "to", [torch.arange(-3, 3)], lambda x: x.float(), dtype="float32")

# ---- arithmetic and broadcasting ----
a, b, row = rnd(3, 4), rnd(3, 4), rnd(4)
col = rnd(3, 1)
ia, ib = torch.arange(-6, 6).reshape(3, 4), torch.tensor([1, 2, 3, 4])
case("add", "add", [a, b], lambda x, y: x + y)
case("add_broadcast_row", "add", [a, row], lambda x, y: x + y)
case("add_broadcast_col_row", "add", [col, row], lambda x, y: x + y)
case("sub_broadcast", "sub", [a, col], lambda x, y: x - y)
case("mul_broadcast", "mul", [a, row], lambda x, y: x * y)
case("div", "div", [a, rnd(3, 4, lo=0.5)], lambda x, y: x / y)
case("int_add_int", "add", [ia, ib], lambda x, y: x + y)
case("int_div_promotes", "div", [ia, ib], lambda x, y: x / y)
case("int_plus_int_scalar", "add_scalar", [ia], lambda x: x + 2, value=2, kind="int")
case("int_plus_float_scalar", "add_scalar", [ia], lambda x: x + 2.5, value=2.5, kind="float")
case("float_times_scalar", "mul_scalar", [a], lambda x: x * 3, value=3, kind="int")
case("scalar_minus_tensor", "rsub_scalar", [a], lambda x: 1.5 - x, value=1.5, kind="float")
case("scalar_div_tensor", "rdiv_scalar", [rnd(5, lo=0.5)], lambda x: 2.0 / x, value=2.0, kind="float")
case("int_remainder", "remainder_scalar", [ia], lambda x: x % 4, value=4, kind="int")
case("float_remainder", "remainder_scalar", [a], lambda x: x % 0.7, value=0.7, kind="float")
case("neg", "neg", [a], lambda x: -x)
case("pow_scalar", "pow_scalar", [rnd(5, lo=0.1)], lambda x: x ** 2.5, value=2.5, kind="float")
case("pow_int_scalar", "pow_scalar", [ia], lambda x: x ** 2, value=2, kind="int")
case("pow_tensor", "pow", [rnd(4, lo=0.5), rnd(4)], lambda x, y: x ** y)
case("maximum", "maximum", [a, b], torch.maximum)
case("minimum_broadcast", "minimum", [a, row], torch.minimum)

# ---- comparisons, where, clamp ----
case("eq_int", "eq", [ia, ib], lambda x, y: x == y)
case("lt_broadcast", "lt", [a, row], lambda x, y: x < y)
case("gt", "gt", [a, b], lambda x, y: x > y)
case("le_scalar", "le_scalar", [ia], lambda x: x <= 0, value=0, kind="int")
case("ge_scalar", "ge_scalar", [a], lambda x: x >= 0.25, value=0.25, kind="float")
case("ne", "ne", [ia, ib], lambda x, y: x != y)
case("where_broadcast", "where", [a > 0, a, row], torch.where)
case("where_int", "where", [ia > 0, ia, ib], torch.where)
case("clamp_both", "clamp", [a], lambda x: x.clamp(-0.5, 0.5), min=-0.5, max=0.5)
case("clamp_min", "clamp", [a], lambda x: x.clamp(min=0.0), min=0.0)
case("clamp_max", "clamp", [a], lambda x: x.clamp(max=0.1), max=0.1)
case("clamp_int", "clamp", [ia], lambda x: x.clamp(-2, 3), min=-2, max=3)

# ---- unary math ----
u, pos = rnd(2, 6), rnd(2, 6, lo=0.05)
for op in ["exp", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "silu", "neg"]:
    case(f"unary_{op}", op, [u], getattr(torch, op) if op != "silu" else F.silu)
case("unary_log", "log", [pos], torch.log)
case("unary_sqrt", "sqrt", [pos], torch.sqrt)
case("unary_rsqrt", "rsqrt", [pos], torch.rsqrt)
case("unary_exp_f64", "exp", [u.double()], torch.exp)
case("gelu_exact", "gelu", [u], F.gelu)
case("gelu_tanh", "gelu", [u], lambda x: F.gelu(x, approximate="tanh"), approximate="tanh")
case("leaky_relu", "leaky_relu", [u], lambda x: F.leaky_relu(x, 0.2), slope=0.2)
case("softplus", "softplus", [u], F.softplus)
case("mish", "mish", [u], F.mish)
case("abs_int", "abs", [ia], torch.abs)

# ---- reductions ----
r = rnd(2, 3, 4)
ri = torch.randint(-5, 6, (3, 4))
case("sum_all", "sum", [r], torch.sum)
case("sum_dim1", "sum", [r], lambda x: x.sum(1), dims=[1])
case("sum_dims_keep", "sum", [r], lambda x: x.sum((0, 2), keepdim=True), dims=[0, 2], keepdim=True)
case("sum_int", "sum", [ri], lambda x: x.sum(0), dims=[0])
case("mean_all", "mean", [r], torch.mean)
case("mean_neg_dim", "mean", [r], lambda x: x.mean(-1), dims=[-1])
case("mean_keep", "mean", [r], lambda x: x.mean(1, keepdim=True), dims=[1], keepdim=True)
case("var_all", "var", [r], torch.var)
case("var_dim_biased", "var", [r], lambda x: x.var(2, unbiased=False), dims=[2], unbiased=False)
case("var_dims_keep", "var", [r], lambda x: x.var((1, 2), keepdim=True), dims=[1, 2], keepdim=True)
case("std_all", "std", [r], torch.std)
case("std_dim", "std", [r], lambda x: x.std(0), dims=[0])
case("amax_all", "amax", [r], torch.max)
case("amax_dim", "amax", [r], lambda x: x.amax(1), dims=[1])
case("amin_dims_keep", "amin", [r], lambda x: x.amin((0, 1), keepdim=True), dims=[0, 1], keepdim=True)
case("max_dim_values", "max_dim", [r], lambda x: x.max(2).values, dim=2, part="values")
case("max_dim_indices", "max_dim", [r], lambda x: x.max(2).indices, dim=2, part="indices")
case("min_dim_keep_values", "min_dim", [r], lambda x: x.min(0, keepdim=True).values, dim=0, keepdim=True, part="values")
case("min_dim_indices", "min_dim", [r], lambda x: x.min(1).indices, dim=1, part="indices")
case("argmax_flat", "argmax", [r], torch.argmax)
case("argmax_dim", "argmax", [r], lambda x: x.argmax(1), dim=1)
case("argmax_dim_keep", "argmax", [r], lambda x: x.argmax(-1, keepdim=True), dim=-1, keepdim=True)
case("argmin_dim", "argmin", [r], lambda x: x.argmin(0), dim=0)
case("prod_dim", "prod", [r], lambda x: x.prod(1), dim=1)
case("logsumexp", "logsumexp", [r], lambda x: x.logsumexp(-1), dim=-1)
case("cumsum", "cumsum", [r], lambda x: x.cumsum(1), dim=1)
case("norm_all", "norm", [r], lambda x: x.norm())

# ---- shape ops ----
s = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
case("reshape", "reshape", [s], lambda x: x.reshape(4, -1), shape=[4, -1])
case("view", "view", [s], lambda x: x.view(6, 4), shape=[6, 4])
case("permute", "permute", [s], lambda x: x.permute(2, 0, 1), dims=[2, 0, 1])
case("transpose", "transpose", [s], lambda x: x.transpose(0, 2), dim0=0, dim1=2)
case("flatten_all", "flatten", [s], torch.flatten, start=0, end=-1)
case("flatten_1", "flatten", [s], lambda x: x.flatten(1), start=1, end=-1)
case("unsqueeze", "unsqueeze", [s], lambda x: x.unsqueeze(1), dim=1)
case("unsqueeze_neg", "unsqueeze", [s], lambda x: x.unsqueeze(-1), dim=-1)
case("squeeze_all", "squeeze", [rnd(1, 3, 1, 2)], torch.squeeze)
case("squeeze_dim", "squeeze", [rnd(1, 3, 1, 2)], lambda x: x.squeeze(2), dim=2)
case("expand", "expand", [rnd(3, 1)], lambda x: x.expand(2, 3, 4), shape=[2, 3, 4])
case("cat_dim0", "cat", [s[:1], s], lambda x, y: torch.cat([x, y], 0), dim=0)
case("cat_dim_neg", "cat", [s, s[..., :2]], lambda x, y: torch.cat([x, y], -1), dim=-1)
case("stack_dim1", "stack", [rnd(2, 3), rnd(2, 3), rnd(2, 3)], lambda *xs: torch.stack(xs, 1), dim=1)
for k in range(3):
    case(f"chunk_part{k}", "chunk", [s], lambda x, k=k: x.chunk(3, 1)[k], chunks=3, dim=1, part=k)
# 4 split into 3 chunks gives 2 chunks of 2, as torch.chunk does.
case("chunk_uneven_last", "chunk", [s], lambda x: x.chunk(3, 2)[-1], chunks=3, dim=2, part=-1)
for k in range(2):
    case(f"split_size_part{k}", "split", [s], lambda x, k=k: x.split(2, 1)[k], size=2, dim=1, part=k)
case("split_sizes_part1", "split_sizes", [s], lambda x: x.split([1, 3], 2)[1], sizes=[1, 3], dim=2, part=1)
case("narrow", "narrow", [s], lambda x: x.narrow(2, 1, 2), dim=2, start=1, length=2)
case("slice_step", "slice", [s], lambda x: x[:, :, 0:4:2], dim=2, start=0, end=4, step=2)
case("slice_negative", "slice", [s], lambda x: x[:, -2:], dim=1, start=-2, end=2 ** 62, step=1)
case("index_select", "index_select", [s, torch.tensor([2, 0, 2])], lambda x, i: x.index_select(1, i), dim=1)
case("indexer_1", "index", [s], lambda x: x[1], indices=[1])
case("indexer_2", "index", [s], lambda x: x[1, 2], indices=[1, 2])
case("indexer_neg", "index", [s], lambda x: x[-1, 0], indices=[-1, 0])
case("select_dim2", "select", [s], lambda x: x.select(2, 3), dim=2, index=3)
case("flip", "flip", [s], lambda x: x.flip(0, 2), dims=[0, 2])
case("repeat", "repeat", [rnd(2, 3)], lambda x: x.repeat(2, 1, 2), repeats=[2, 1, 2])
case("gather", "gather", [rnd(3, 4), torch.tensor([[0, 3], [1, 1], [2, 0]])], lambda x, i: x.gather(1, i), dim=1)
case("contiguous_of_transpose", "contiguous", [rnd(3, 4).t()], lambda x: x.contiguous())

# ---- linear algebra ----
case("matmul_2d", "matmul", [rnd(3, 4), rnd(4, 5)], torch.matmul)
case("matmul_batched_broadcast", "matmul", [rnd(2, 3, 4), rnd(4, 2)], torch.matmul)
case("matmul_vec", "matmul", [rnd(3, 4), rnd(4)], torch.matmul)
case("matmul_f64", "matmul", [rnd(2, 3, dtype=torch.float64), rnd(3, 2, dtype=torch.float64)], torch.matmul)
case("bmm", "bmm", [rnd(2, 3, 4), rnd(2, 4, 2)], torch.bmm)
case("einsum_bij_bjk", "einsum", [rnd(2, 3, 4), rnd(2, 4, 2)], lambda x, y: torch.einsum("bij,bjk->bik", x, y), equation="bij,bjk->bik")
case("einsum_trace", "einsum", [rnd(4, 4)], lambda x: torch.einsum("ii->", x), equation="ii->")
case("einsum_outer", "einsum", [rnd(3), rnd(4)], lambda x, y: torch.einsum("i,j->ij", x, y), equation="i,j->ij")
case("einsum_attention", "einsum", [rnd(2, 3, 4), rnd(2, 5, 4)], lambda q, k: torch.einsum("bqd,bkd->bqk", q, k), equation="bqd,bkd->bqk")
case("outer", "outer", [rnd(3), rnd(2)], torch.outer)

# ---- nn: linear and convolution ----
case("linear_bias", "linear", [rnd(2, 3, 4), rnd(5, 4), rnd(5)], F.linear)
case("linear_no_bias", "linear", [rnd(3, 4), rnd(2, 4)], F.linear)
case("conv1d", "conv1d", [rnd(2, 3, 7), rnd(4, 3, 3), rnd(4)], lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
     stride=2, padding=1)
case("conv2d_basic", "conv2d", [rnd(1, 2, 5, 5), rnd(3, 2, 3, 3), rnd(3)], F.conv2d)
case("conv2d_stride_pad", "conv2d", [rnd(2, 2, 6, 5), rnd(4, 2, 3, 3), rnd(4)],
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), stride=2, padding=1)
case("conv2d_dilation", "conv2d", [rnd(1, 2, 7, 7), rnd(2, 2, 3, 3)], lambda x, w: F.conv2d(x, w, dilation=2), dilation=2)
case("conv2d_groups", "conv2d", [rnd(1, 4, 5, 5), rnd(6, 2, 3, 3), rnd(6)],
     lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), padding=1, groups=2)
case("conv3d", "conv3d", [rnd(1, 2, 4, 5, 4), rnd(3, 2, 3, 3, 3), rnd(3)],
     lambda x, w, b: F.conv3d(x, w, b, padding=1), padding=1)
case("conv3d_stride", "conv3d", [rnd(1, 2, 5, 5, 5), rnd(2, 2, 2, 2, 2)], lambda x, w: F.conv3d(x, w, stride=2), stride=2)
case("conv_transpose2d", "conv_transpose2d", [rnd(1, 3, 3, 4), rnd(3, 2, 3, 3), rnd(2)], F.conv_transpose2d)
case("conv_transpose2d_stride_outpad", "conv_transpose2d", [rnd(2, 2, 3, 3), rnd(2, 3, 3, 3), rnd(3)],
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), stride=2, padding=1, outputPadding=1)
case("conv_transpose3d", "conv_transpose3d", [rnd(1, 2, 2, 3, 2), rnd(2, 2, 2, 2, 2), rnd(2)],
     lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2), stride=2)

# ---- nn: normalisation ----
x4 = rnd(2, 6, 3, 3)
case("group_norm_affine", "group_norm", [x4, rnd(6), rnd(6)], lambda x, w, b: F.group_norm(x, 3, w, b), groups=3)
case("group_norm_plain", "group_norm", [x4], lambda x: F.group_norm(x, 2), groups=2)
case("group_norm_3d", "group_norm", [rnd(1, 4, 2, 3, 2)], lambda x: F.group_norm(x, 2, eps=1e-3), groups=2, eps=1e-3)
case("layer_norm_last", "layer_norm", [rnd(2, 3, 5), rnd(5), rnd(5)], lambda x, w, b: F.layer_norm(x, [5], w, b), shape=[5])
case("layer_norm_two_dims", "layer_norm", [rnd(2, 3, 4)], lambda x: F.layer_norm(x, [3, 4]), shape=[3, 4])
case("instance_norm_2d", "instance_norm", [rnd(2, 3, 4, 4)], F.instance_norm)
case("instance_norm_3d_affine", "instance_norm", [rnd(1, 2, 3, 3, 2), rnd(2), rnd(2)],
     lambda x, w, b: F.instance_norm(x, weight=w, bias=b))
bn_x, bn_m, bn_v, bn_w, bn_b = rnd(4, 3, 2, 2), rnd(3), rnd(3, lo=0.5), rnd(3), rnd(3)
case("batch_norm_eval", "batch_norm", [bn_x, bn_m, bn_v, bn_w, bn_b],
     lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False), training=False, part="output")
for part in ["output", "running_mean", "running_var"]:
    def bn_train(x, m, v, w, b, part=part):
        m, v = m.clone(), v.clone()
        y = F.batch_norm(x, m, v, w, b, training=True, momentum=0.2)
        return {"output": y, "running_mean": m, "running_var": v}[part]
    case(f"batch_norm_train_{part}", "batch_norm", [bn_x, bn_m, bn_v, bn_w, bn_b], bn_train, training=True, momentum=0.2, part=part)

# ---- nn: activations over dims ----
sm = rnd(2, 3, 4)
case("softmax_last", "softmax", [sm], lambda x: F.softmax(x, -1), dim=-1)
case("softmax_dim1", "softmax", [sm], lambda x: F.softmax(x, 1), dim=1)
case("softmax_f64", "softmax", [sm.double()], lambda x: F.softmax(x, 0), dim=0)
case("log_softmax_last", "log_softmax", [sm], lambda x: F.log_softmax(x, -1), dim=-1)
case("log_softmax_dim0", "log_softmax", [sm], lambda x: F.log_softmax(x, 0), dim=0)
case("dropout_eval_identity", "dropout", [sm], lambda x: F.dropout(x, 0.5, training=False), p=0.5, training=False)

# ---- nn: pooling ----
p2, p3 = rnd(1, 2, 5, 6), rnd(1, 2, 4, 5, 4)
case("avg_pool2d", "avg_pool2d", [p2], lambda x: F.avg_pool2d(x, 2), kernel=2)
case("avg_pool2d_stride_pad", "avg_pool2d", [p2], lambda x: F.avg_pool2d(x, 3, 2, 1), kernel=3, stride=2, padding=1)
case("avg_pool2d_exclude_pad", "avg_pool2d", [p2], lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
     kernel=3, stride=2, padding=1, countIncludePad=False)
case("avg_pool2d_ceil", "avg_pool2d", [p2], lambda x: F.avg_pool2d(x, 2, ceil_mode=True), kernel=2, ceilMode=True)
case("avg_pool3d", "avg_pool3d", [p3], lambda x: F.avg_pool3d(x, 2), kernel=2)
case("avg_pool3d_stride", "avg_pool3d", [p3], lambda x: F.avg_pool3d(x, 2, 1), kernel=2, stride=1)
case("max_pool2d", "max_pool2d", [p2], lambda x: F.max_pool2d(x, 2), kernel=2)
case("max_pool2d_stride_pad", "max_pool2d", [p2], lambda x: F.max_pool2d(x, 3, 2, 1), kernel=3, stride=2, padding=1)
case("max_pool2d_dilation", "max_pool2d", [p2], lambda x: F.max_pool2d(x, 2, 1, 0, 2), kernel=2, stride=1, dilation=2)
case("max_pool3d", "max_pool3d", [p3], lambda x: F.max_pool3d(x, 2), kernel=2)
case("max_pool3d_pad", "max_pool3d", [p3], lambda x: F.max_pool3d(x, 3, 2, 1), kernel=3, stride=2, padding=1)

# ---- nn: interpolation ----
i2, i3 = rnd(1, 2, 3, 4), rnd(1, 1, 2, 3, 2)
case("nearest2d_size", "interpolate", [i2], lambda x: F.interpolate(x, size=(5, 7), mode="nearest"), size=[5, 7], mode="nearest")
case("nearest2d_scale2", "interpolate", [i2], lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest"), scale=2.0, mode="nearest")
case("nearest2d_scale1_5", "interpolate", [rnd(1, 1, 5, 5)], lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest"),
     scale=1.5, mode="nearest")
case("nearest2d_down", "interpolate", [rnd(1, 1, 6, 6)], lambda x: F.interpolate(x, scale_factor=0.5, mode="nearest"),
     scale=0.5, mode="nearest")
case("nearest1d_size", "interpolate", [rnd(1, 2, 4)], lambda x: F.interpolate(x, size=7, mode="nearest"), size=[7], mode="nearest")
case("nearest3d_scale2", "interpolate", [i3], lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest"), scale=2.0, mode="nearest")
case("nearest3d_size", "interpolate", [i3], lambda x: F.interpolate(x, size=(3, 4, 5), mode="nearest"), size=[3, 4, 5], mode="nearest")
# Non-integer scales: PyTorch maps coordinates by 1/scale, not in/out, so these catch a binding that passes only the size.
case("nearest2d_scale1_7", "interpolate", [rnd(1, 1, 5, 5)], lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest"),
     scale=1.7, mode="nearest")
case("trilinear_scale1_5", "interpolate", [rnd(1, 1, 3, 3, 3)], lambda x: F.interpolate(x, scale_factor=1.5, mode="trilinear"),
     scale=1.5, mode="trilinear")
case("bilinear_size", "interpolate", [i2], lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"), size=[5, 7], mode="bilinear")
case("bilinear_scale2", "interpolate", [i2], lambda x: F.interpolate(x, scale_factor=2.0, mode="bilinear"), scale=2.0, mode="bilinear")
case("bilinear_scale1_5", "interpolate", [rnd(1, 1, 5, 5)], lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
     scale=1.5, mode="bilinear")
case("bilinear_align_corners", "interpolate", [i2], lambda x: F.interpolate(x, size=(6, 6), mode="bilinear", align_corners=True),
     size=[6, 6], mode="bilinear", alignCorners=True)
case("bilinear_down", "interpolate", [rnd(1, 1, 6, 6)], lambda x: F.interpolate(x, scale_factor=0.5, mode="bilinear"),
     scale=0.5, mode="bilinear")
case("trilinear_scale2", "interpolate", [i3], lambda x: F.interpolate(x, scale_factor=2.0, mode="trilinear"), scale=2.0, mode="trilinear")
case("trilinear_size", "interpolate", [i3], lambda x: F.interpolate(x, size=(3, 4, 5), mode="trilinear"), size=[3, 4, 5], mode="trilinear")
case("trilinear_align_corners", "interpolate", [i3], lambda x: F.interpolate(x, size=(3, 3, 3), mode="trilinear", align_corners=True),
     size=[3, 3, 3], mode="trilinear", alignCorners=True)

# ---- nn: embedding, attention, losses ----
case("embedding", "embedding", [torch.tensor([[0, 2], [4, 2]]), rnd(5, 3)], F.embedding)


def sdpa(q, k, v, mask=None, causal=False, scale=None):
    """torch 1.13 has no F.scaled_dot_product_attention; this is its documented definition."""
    s = scale if scale is not None else 1 / math.sqrt(q.size(-1))
    scores = q @ k.transpose(-2, -1) * s
    if causal:
        keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


q, k, v = rnd(2, 2, 3, 4), rnd(2, 2, 5, 4), rnd(2, 2, 5, 3)
bool_mask = torch.tensor([[True, True, False, True, False], [True, False, False, False, False], [True, True, True, True, True]])
float_mask = torch.round(torch.randn(3, 5) * 100) / 100
case("sdpa_plain", "sdpa", [q, k, v], sdpa)
case("sdpa_scale", "sdpa", [q, k, v], lambda q, k, v: sdpa(q, k, v, scale=0.3), scale=0.3)
case("sdpa_bool_mask", "sdpa", [q, k, v, bool_mask], lambda q, k, v, m: sdpa(q, k, v, m))
case("sdpa_float_mask", "sdpa", [q, k, v, float_mask], lambda q, k, v, m: sdpa(q, k, v, m))
qc, kc, vc = rnd(1, 2, 4, 3), rnd(1, 2, 4, 3), rnd(1, 2, 4, 2)
case("sdpa_causal", "sdpa", [qc, kc, vc], lambda q, k, v: sdpa(q, k, v, causal=True), causal=True)
l1, l2 = rnd(3, 4), rnd(3, 4)
for red in ["mean", "sum", "none"]:
    case(f"mse_loss_{red}", "mse_loss", [l1, l2], lambda a, b, red=red: F.mse_loss(a, b, reduction=red), reduction=red)
    case(f"l1_loss_{red}", "l1_loss", [l1, l2], lambda a, b, red=red: F.l1_loss(a, b, reduction=red), reduction=red)

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "case names must be unique"
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")
with open(path, "w") as f:
    # One case per line keeps diffs of regenerated fixtures readable.
    f.write('{"torch":%s,"cases":[\n' % json.dumps(torch.__version__))
    f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
    f.write("\n]}\n")
print(f"wrote {len(cases)} cases to {path} ({os.path.getsize(path)} bytes)")
