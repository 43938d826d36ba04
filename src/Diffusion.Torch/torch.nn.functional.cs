using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public enum Reduction { None = 0, Mean = 1, Sum = 2 }

        public enum InterpolationMode { Nearest, Linear, Bilinear, Trilinear }

        /// <summary>Functional ops, as <c>torch.nn.functional</c>. Shapes follow PyTorch: (N, C, *spatial).</summary>
        public static partial class functional
        {
            private static TensorHandle H(Tensor? t) => t?.Handle ?? Tensor.NullTensor;

            // ---- activations ----
            public static Tensor relu(Tensor x) => x.Unary(UnaryOp.Relu);
            public static Tensor silu(Tensor x) => x.Unary(UnaryOp.Silu);

            /// <summary>Exact GELU, x·Φ(x); with <paramref name="approximate"/> = "tanh" the tanh approximation.</summary>
            public static Tensor gelu(Tensor x, string approximate = "none") => approximate switch
            {
                "none" => x.Unary(UnaryOp.Gelu),
                "tanh" => x.Unary(UnaryOp.GeluTanh),
                _ => throw new ArgumentException($"gelu approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate)),
            };

            public static Tensor sigmoid(Tensor x) => x.Unary(UnaryOp.Sigmoid);
            public static Tensor tanh(Tensor x) => x.Unary(UnaryOp.Tanh);
            public static Tensor softplus(Tensor x) => x.Unary(UnaryOp.Softplus);
            public static Tensor mish(Tensor x) => x.Unary(UnaryOp.Mish);
            public static Tensor leaky_relu(Tensor x, double negativeSlope = 0.01) => Tensor.Wrap(dt_leaky_relu(x.Handle, negativeSlope, out var r), r, "leaky_relu", x);
            public static Tensor softmax(Tensor x, long dim) => Tensor.Wrap(dt_softmax(x.Handle, dim, 0, out var r), r, "softmax", x);
            public static Tensor log_softmax(Tensor x, long dim) => Tensor.Wrap(dt_softmax(x.Handle, dim, 1, out var r), r, "log_softmax", x);

            // ---- linear and convolution ----

            /// <summary>x Wᵀ + b; W is (out, in).</summary>
            public static Tensor linear(Tensor x, Tensor weight, Tensor? bias = null) =>
                Tensor.Wrap(dt_linear(x.Handle, weight.Handle, H(bias), out var r), r, "linear", x, weight, bias);

            private static long[] Expand(long[] values, int n, string name) =>
                values.Length == n ? values : values.Length == 1 ? Enumerable.Repeat(values[0], n).ToArray()
                : throw new ArgumentException($"{name} needs 1 or {n} values, got {values.Length}", name);

            /// <summary>Convolution with <paramref name="n"/> spatial dims (1, 2 or 3), transposed or not.</summary>
            public static unsafe Tensor convolution(Tensor x, Tensor weight, Tensor? bias, int n, long[] stride, long[] padding, long[] dilation,
                bool transposed, long[] outputPadding, long groups, string op)
            {
                var s = Expand(stride, n, nameof(stride));
                var p = Expand(padding, n, nameof(padding));
                var d = Expand(dilation, n, nameof(dilation));
                var o = Expand(outputPadding, n, nameof(outputPadding));
                fixed (long* ps = s, pp = p, pd = d, po = o)
                    return Tensor.Wrap(dt_convolution(x.Handle, weight.Handle, H(bias), ps, pp, pd, transposed ? 1 : 0, po, n, groups, out var r), r, op, x, weight, bias);
            }

            public static Tensor conv1d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
                convolution(x, weight, bias, 1, [stride], [padding], [dilation], false, [0], groups, "conv1d");

            public static Tensor conv2d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
                convolution(x, weight, bias, 2, [stride], [padding], [dilation], false, [0], groups, "conv2d");

            public static Tensor conv3d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1) =>
                convolution(x, weight, bias, 3, [stride], [padding], [dilation], false, [0], groups, "conv3d");

            /// <summary>Transposed convolution; weight is (in, out/groups, k, k).</summary>
            public static Tensor conv_transpose2d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long outputPadding = 0, long groups = 1, long dilation = 1) =>
                convolution(x, weight, bias, 2, [stride], [padding], [dilation], true, [outputPadding], groups, "conv_transpose2d");

            public static Tensor conv_transpose3d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long outputPadding = 0, long groups = 1, long dilation = 1) =>
                convolution(x, weight, bias, 3, [stride], [padding], [dilation], true, [outputPadding], groups, "conv_transpose3d");

            // ---- normalisation ----
            public static Tensor group_norm(Tensor x, long numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
                Tensor.Wrap(dt_group_norm(x.Handle, numGroups, H(weight), H(bias), eps, out var r), r, $"group_norm(groups={numGroups})", x, weight, bias);

            /// <summary>
            /// GroupNorm on the shim's fused kernel, optionally followed by SiLU in the same pass: a float32 or bfloat16 CPU
            /// <paramref name="x"/> (N, C, *spatial), float32 statistics per (sample, group) and float32 γ, β, the result
            /// written as <paramref name="outputType"/> (Float32 or BFloat16) — so a bfloat16 activation is normalised
            /// without being widened first and reaches the next bfloat16 convolution without a cast. Differentiable: the
            /// input's gradient has the input's type, γ's and β's are float32.
            /// </summary>
            public static Tensor group_norm(Tensor x, long numGroups, Tensor? weight, Tensor? bias, double eps, bool silu, ScalarType outputType) =>
                Tensor.Wrap(dt_group_norm_fused(x.Handle, numGroups, H(weight), H(bias), eps, silu ? 1 : 0, (int)outputType, out var r), r,
                    $"group_norm(groups={numGroups}{(silu ? ", silu" : "")}, {outputType})", x, weight, bias);

            public static unsafe Tensor layer_norm(Tensor x, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                fixed (long* p = normalizedShape)
                    return Tensor.Wrap(dt_layer_norm(x.Handle, p, normalizedShape.Length, H(weight), H(bias), eps, out var r), r,
                        $"layer_norm([{string.Join(", ", normalizedShape)}])", x, weight, bias);
            }

            /// <summary>Per-channel normalisation over each sample's spatial positions (running statistics optional).</summary>
            public static Tensor instance_norm(Tensor x, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null, Tensor? bias = null,
                bool useInputStats = true, double momentum = 0.1, double eps = 1e-5) =>
                Tensor.Wrap(dt_instance_norm(x.Handle, H(weight), H(bias), H(runningMean), H(runningVar), useInputStats ? 1 : 0, momentum, eps, out var r), r,
                    "instance_norm", x, weight, bias);

            /// <summary>Batch statistics in training (running statistics updated in place), running statistics in eval.</summary>
            public static Tensor batch_norm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
                bool training = false, double momentum = 0.1, double eps = 1e-5) =>
                Tensor.Wrap(dt_batch_norm(x.Handle, H(weight), H(bias), H(runningMean), H(runningVar), training ? 1 : 0, momentum, eps, out var r), r,
                    "batch_norm", x, runningMean, runningVar);

            // ---- regularisation ----

            /// <summary>Zeroes elements with probability p and scales the rest by 1/(1−p); identity when not training.</summary>
            public static Tensor dropout(Tensor x, double p, bool training, Generator? generator = null) =>
                Tensor.Wrap(dt_dropout(x.Handle, p, training ? 1 : 0, generator?.Live ?? Generator.Null, out var r), r, $"dropout(p={p})", x);

            // ---- pooling and resampling ----
            private static unsafe Tensor AvgPool(Tensor x, int n, long kernel, long? stride, long padding, bool ceilMode, bool countIncludePad)
            {
                long[] k = Expand([kernel], n, "kernel"), s = Expand([stride ?? kernel], n, "stride"), p = Expand([padding], n, "padding");
                fixed (long* pk = k, ps = s, pp = p)
                    return Tensor.Wrap(dt_avg_pool(x.Handle, pk, ps, pp, n, ceilMode ? 1 : 0, countIncludePad ? 1 : 0, out var r), r, $"avg_pool{n}d", x);
            }

            private static unsafe Tensor MaxPool(Tensor x, int n, long kernel, long? stride, long padding, long dilation, bool ceilMode)
            {
                long[] k = Expand([kernel], n, "kernel"), s = Expand([stride ?? kernel], n, "stride"), p = Expand([padding], n, "padding"), d = Expand([dilation], n, "dilation");
                fixed (long* pk = k, ps = s, pp = p, pd = d)
                    return Tensor.Wrap(dt_max_pool(x.Handle, pk, ps, pp, pd, n, ceilMode ? 1 : 0, out var r), r, $"max_pool{n}d", x);
            }

            public static Tensor avg_pool2d(Tensor x, long kernelSize, long? stride = null, long padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
                AvgPool(x, 2, kernelSize, stride, padding, ceilMode, countIncludePad);

            public static Tensor avg_pool3d(Tensor x, long kernelSize, long? stride = null, long padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
                AvgPool(x, 3, kernelSize, stride, padding, ceilMode, countIncludePad);

            public static Tensor max_pool2d(Tensor x, long kernelSize, long? stride = null, long padding = 0, long dilation = 1, bool ceilMode = false) =>
                MaxPool(x, 2, kernelSize, stride, padding, dilation, ceilMode);

            public static Tensor max_pool3d(Tensor x, long kernelSize, long? stride = null, long padding = 0, long dilation = 1, bool ceilMode = false) =>
                MaxPool(x, 3, kernelSize, stride, padding, dilation, ceilMode);

            /// <summary>
            /// Resamples the spatial dims to <paramref name="size"/>, or by <paramref name="scaleFactor"/> (output = floor(input · scale), as
            /// F.interpolate). Nearest works for 1–3 spatial dims; bilinear needs 4-D input and trilinear 5-D.
            /// </summary>
            public static unsafe Tensor interpolate(Tensor x, long[]? size = null, double? scaleFactor = null, InterpolationMode mode = InterpolationMode.Nearest, bool alignCorners = false)
            {
                var shape = x.shape;
                var n = shape.Length - 2;
                if (n < 1) throw new ArgumentException($"interpolate needs (N, C, *spatial) input, got {x.Describe()}", nameof(x));
                if ((size is null) == (scaleFactor is null)) throw new ArgumentException("interpolate needs exactly one of size and scaleFactor");
                var expected = mode switch { InterpolationMode.Bilinear => 2, InterpolationMode.Trilinear => 3, _ => n };
                if (expected != n) throw new ArgumentException($"{mode.ToString().ToLowerInvariant()} interpolation needs {expected} spatial dims, got input {x.Describe()}", nameof(mode));
                var outSize = size is null ? shape[2..].Select(s => (long)Math.Floor(s * scaleFactor!.Value)).ToArray() : Expand(size, n, nameof(size));
                // With a scale factor the kernels must map coordinates by 1/scale (as F.interpolate does), not by in/out.
                var scales = scaleFactor is { } f ? Enumerable.Repeat(f, n).ToArray() : null;
                fixed (long* p = outSize)
                fixed (double* ps = scales)
                    return Tensor.Wrap(dt_interpolate(x.Handle, p, ps, n, mode == InterpolationMode.Nearest ? 0 : 1, alignCorners ? 1 : 0, out var r), r,
                        $"interpolate({mode.ToString().ToLowerInvariant()}, [{string.Join(", ", outSize)}])", x);
            }

            /// <summary>
            /// Constant padding as <c>F.pad</c>: <paramref name="pad"/> holds (before, after) pairs starting from the last dim,
            /// e.g. (0, 1, 0, 1) adds a column on the right and a row at the bottom (TensorFlow's 'SAME' for a stride-2 3×3 conv).
            /// </summary>
            public static unsafe Tensor pad(Tensor x, long[] pad, double value = 0)
            {
                fixed (long* p = pad)
                    return Tensor.Wrap(dt_pad(x.Handle, p, pad.Length, value, out var r), r, $"pad([{string.Join(", ", pad)}])", x);
            }

            // ---- lookup, attention, losses ----

            /// <summary>Rows of <paramref name="weight"/> at <paramref name="indices"/> (int64).</summary>
            public static Tensor embedding(Tensor indices, Tensor weight) =>
                Tensor.Wrap(dt_embedding(weight.Handle, indices.Handle, out var r), r, "embedding", indices, weight);

            /// <summary>
            /// softmax(Q Kᵀ · scale + mask) V over (…, L, E) queries and (…, S, E) keys (Vaswani et al. 2017, eq. 1).
            /// A bool mask is true where attention is allowed; a float mask is added to the scores. Scale defaults to 1/√E.
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, double dropoutP = 0,
                bool isCausal = false, double? scale = null, Generator? generator = null) =>
                Tensor.Wrap(dt_scaled_dot_product_attention(query.Handle, key.Handle, value.Handle, H(attnMask), dropoutP, isCausal ? 1 : 0, scale ?? 0,
                    generator?.Live ?? Generator.Null, out var r), r, "scaled_dot_product_attention", query, key, value);

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(dt_mse_loss(input.Handle, target.Handle, (int)reduction, out var r), r, "mse_loss", input, target);

            public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(dt_l1_loss(input.Handle, target.Handle, (int)reduction, out var r), r, "l1_loss", input, target);
        }
    }
}
