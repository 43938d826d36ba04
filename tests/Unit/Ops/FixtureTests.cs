using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Every case of Fixtures/ops.json: the C# call must reproduce PyTorch's result (shape, dtype and values).</summary>
public class FixtureTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Fixtures.Cases.Keys) data.Add(name);
        return data;
    }

    [Fact]
    public void Fixture_file_covers_every_op_family()
    {
        var ops = Fixtures.Cases.Values.Select(c => c.Op).ToHashSet();
        string[] required =
        [
            "zeros", "ones", "full", "arange", "linspace", "eye", "to", "add", "add_scalar", "mul", "div", "eq", "lt", "where", "clamp",
            "exp", "log", "sqrt", "pow", "abs", "sin", "cos", "sum", "mean", "var", "std", "amin", "amax", "argmax", "reshape", "view",
            "permute", "transpose", "flatten", "unsqueeze", "squeeze", "expand", "cat", "stack", "chunk", "split", "narrow", "slice",
            "index_select", "index", "matmul", "bmm", "einsum", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d",
            "conv_transpose3d", "group_norm", "layer_norm", "instance_norm", "batch_norm", "silu", "gelu", "relu", "sigmoid", "tanh",
            "softmax", "log_softmax", "dropout", "avg_pool2d", "avg_pool3d", "max_pool2d", "max_pool3d", "interpolate", "embedding",
            "sdpa", "mse_loss", "l1_loss",
        ];
        var missing = required.Where(op => !ops.Contains(op)).ToArray();
        Assert.True(missing.Length == 0, "no fixture for: " + string.Join(", ", missing));
        Assert.True(Fixtures.Cases.Count >= 150, $"only {Fixtures.Cases.Count} fixture cases");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Matches_pytorch(string name)
    {
        var c = Fixtures.Cases[name];
        using var scope = torch.NewDisposeScope();
        var inputs = c.Inputs.Select(t => t.ToTensor()).ToArray();
        var actual = Run(c, inputs);
        TensorAssert.Matches(c.Expected, actual, name);
    }

    private static Tensor Run(FixtureCase c, Tensor[] x)
    {
        Tensor? Opt(int k) => k < x.Length ? x[k] : null;
        return c.Op switch
        {
            // creation
            "zeros" => torch.zeros(c.Longs("shape"), c.DType()),
            "ones" => torch.ones(c.Longs("shape"), c.DType()),
            "full" => c.DType() == ScalarType.Bool ? torch.full(c.Longs("shape"), c.Double("value") != 0, c.DType())
                : torch.full(c.Longs("shape"), c.Double("value"), c.DType()),
            "arange" => c.DType() == ScalarType.Int64 ? torch.arange(c.Long("start"), c.Long("end"), c.Long("step"))
                : torch.arange(c.Double("start"), c.Double("end"), c.Double("step")),
            "linspace" => torch.linspace(c.Double("start"), c.Double("end"), c.Long("steps"), c.DType()),
            "eye" => torch.eye(c.Long("n"), c.Long("m"), c.DType()),
            "to" => x[0].to(c.DType()),
            // arithmetic
            "add" => x[0] + x[1],
            "sub" => x[0] - x[1],
            "mul" => x[0] * x[1],
            "div" => x[0] / x[1],
            "pow" => x[0].pow(x[1]),
            "neg" => -x[0],
            "maximum" => x[0].maximum(x[1]),
            "minimum" => x[0].minimum(x[1]),
            "add_scalar" => x[0] + c.ScalarArg("value"),
            "mul_scalar" => x[0] * c.ScalarArg("value"),
            "rsub_scalar" => c.ScalarArg("value") - x[0],
            "rdiv_scalar" => c.ScalarArg("value") / x[0],
            "remainder_scalar" => x[0] % c.ScalarArg("value"),
            "pow_scalar" => x[0].pow(c.ScalarArg("value")),
            // comparisons
            "eq" => x[0].eq(x[1]),
            "ne" => x[0].ne(x[1]),
            "lt" => x[0] < x[1],
            "gt" => x[0] > x[1],
            "le_scalar" => x[0] <= c.ScalarArg("value"),
            "ge_scalar" => x[0] >= c.ScalarArg("value"),
            "where" => torch.where(x[0], x[1], x[2]),
            "clamp" => Clamp(c, x[0]),
            // unary
            "exp" => x[0].exp(),
            "log" => x[0].log(),
            "sqrt" => x[0].sqrt(),
            "rsqrt" => x[0].rsqrt(),
            "abs" => x[0].abs(),
            "sin" => x[0].sin(),
            "cos" => x[0].cos(),
            "tanh" => F.tanh(x[0]),
            "sigmoid" => F.sigmoid(x[0]),
            "relu" => F.relu(x[0]),
            "silu" => F.silu(x[0]),
            "gelu" => F.gelu(x[0], c.Str("approximate", "none")),
            "leaky_relu" => F.leaky_relu(x[0], c.Double("slope")),
            "softplus" => F.softplus(x[0]),
            "mish" => F.mish(x[0]),
            // reductions
            "sum" => c.Has("dims") ? x[0].sum(c.Longs("dims"), c.Bool("keepdim")) : x[0].sum(),
            "mean" => c.Has("dims") ? x[0].mean(c.Longs("dims"), c.Bool("keepdim")) : x[0].mean(),
            "var" => x[0].var(c.Has("dims") ? c.Longs("dims") : null, c.Bool("unbiased", true), c.Bool("keepdim")),
            "std" => x[0].std(c.Has("dims") ? c.Longs("dims") : null, c.Bool("unbiased", true), c.Bool("keepdim")),
            "amax" => c.Has("dims") ? x[0].amax(c.Longs("dims"), c.Bool("keepdim")) : x[0].max(),
            "amin" => c.Has("dims") ? x[0].amin(c.Longs("dims"), c.Bool("keepdim")) : x[0].min(),
            "max_dim" => Part(x[0].max(c.Long("dim"), c.Bool("keepdim")), c.Str("part")),
            "min_dim" => Part(x[0].min(c.Long("dim"), c.Bool("keepdim")), c.Str("part")),
            "argmax" => x[0].argmax(c.LongOrNull("dim"), c.Bool("keepdim")),
            "argmin" => x[0].argmin(c.LongOrNull("dim"), c.Bool("keepdim")),
            "prod" => x[0].prod(c.Long("dim")),
            "logsumexp" => x[0].logsumexp(c.Long("dim")),
            "cumsum" => x[0].cumsum(c.Long("dim")),
            "norm" => x[0].norm(),
            // shape
            "reshape" => x[0].reshape(c.Longs("shape")),
            "view" => x[0].view(c.Longs("shape")),
            "permute" => x[0].permute(c.Longs("dims")),
            "transpose" => x[0].transpose(c.Long("dim0"), c.Long("dim1")),
            "flatten" => x[0].flatten(c.Long("start"), c.Long("end")),
            "unsqueeze" => x[0].unsqueeze(c.Long("dim")),
            "squeeze" => x[0].squeeze(c.LongOrNull("dim")),
            "expand" => x[0].expand(c.Longs("shape")),
            "cat" => torch.cat(x, c.Long("dim")),
            "stack" => torch.stack(x, c.Long("dim")),
            "chunk" => Pick(x[0].chunk(c.Long("chunks"), c.Long("dim")), c.Long("part")),
            "split" => Pick(x[0].split(c.Long("size"), c.Long("dim")), c.Long("part")),
            "split_sizes" => Pick(x[0].split(c.Longs("sizes"), c.Long("dim")), c.Long("part")),
            "narrow" => x[0].narrow(c.Long("dim"), c.Long("start"), c.Long("length")),
            "slice" => x[0].slice(c.Long("dim"), c.Long("start"), c.Long("end"), c.Long("step")),
            "index_select" => x[0].index_select(c.Long("dim"), x[1]),
            "index" => x[0][c.Longs("indices")],
            "select" => x[0].select(c.Long("dim"), c.Long("index")),
            "flip" => x[0].flip(c.Longs("dims")),
            "repeat" => x[0].repeat(c.Longs("repeats")),
            "gather" => x[0].gather(c.Long("dim"), x[1]),
            "contiguous" => x[0].contiguous(),
            // linear algebra
            "matmul" => torch.matmul(x[0], x[1]),
            "bmm" => torch.bmm(x[0], x[1]),
            "einsum" => torch.einsum(c.Str("equation"), x),
            "outer" => x[0].outer(x[1]),
            // nn
            "linear" => F.linear(x[0], x[1], Opt(2)),
            "conv1d" => F.conv1d(x[0], x[1], Opt(2), c.Long("stride", 1), c.Long("padding"), c.Long("dilation", 1), c.Long("groups", 1)),
            "conv2d" => F.conv2d(x[0], x[1], Opt(2), c.Long("stride", 1), c.Long("padding"), c.Long("dilation", 1), c.Long("groups", 1)),
            "conv3d" => F.conv3d(x[0], x[1], Opt(2), c.Long("stride", 1), c.Long("padding"), c.Long("dilation", 1), c.Long("groups", 1)),
            "conv_transpose2d" => F.conv_transpose2d(x[0], x[1], Opt(2), c.Long("stride", 1), c.Long("padding"), c.Long("outputPadding")),
            "conv_transpose3d" => F.conv_transpose3d(x[0], x[1], Opt(2), c.Long("stride", 1), c.Long("padding"), c.Long("outputPadding")),
            "group_norm" => F.group_norm(x[0], c.Long("groups"), Opt(1), Opt(2), c.Double("eps", 1e-5)),
            "layer_norm" => F.layer_norm(x[0], c.Longs("shape"), Opt(1), Opt(2)),
            "instance_norm" => F.instance_norm(x[0], weight: Opt(1), bias: Opt(2)),
            "batch_norm" => BatchNorm(c, x),
            "softmax" => F.softmax(x[0], c.Long("dim")),
            "log_softmax" => F.log_softmax(x[0], c.Long("dim")),
            "dropout" => F.dropout(x[0], c.Double("p"), c.Bool("training")),
            "avg_pool2d" => F.avg_pool2d(x[0], c.Long("kernel"), c.LongOrNull("stride"), c.Long("padding"), c.Bool("ceilMode"), c.Bool("countIncludePad", true)),
            "avg_pool3d" => F.avg_pool3d(x[0], c.Long("kernel"), c.LongOrNull("stride"), c.Long("padding"), c.Bool("ceilMode"), c.Bool("countIncludePad", true)),
            "max_pool2d" => F.max_pool2d(x[0], c.Long("kernel"), c.LongOrNull("stride"), c.Long("padding"), c.Long("dilation", 1)),
            "max_pool3d" => F.max_pool3d(x[0], c.Long("kernel"), c.LongOrNull("stride"), c.Long("padding"), c.Long("dilation", 1)),
            "interpolate" => F.interpolate(x[0], c.Has("size") ? c.Longs("size") : null, c.Has("scale") ? c.Double("scale") : null,
                Mode(c.Str("mode")), c.Bool("alignCorners")),
            "embedding" => F.embedding(x[0], x[1]),
            "sdpa" => F.scaled_dot_product_attention(x[0], x[1], x[2], Opt(3), isCausal: c.Bool("causal"), scale: c.Has("scale") ? c.Double("scale") : null),
            "mse_loss" => F.mse_loss(x[0], x[1], Reduction(c.Str("reduction"))),
            "l1_loss" => F.l1_loss(x[0], x[1], Reduction(c.Str("reduction"))),
            _ => throw new NotSupportedException($"fixture op '{c.Op}' has no C# dispatch"),
        };
    }

    private static Tensor Clamp(FixtureCase c, Tensor x)
    {
        Scalar? Bound(string key) => !c.Has(key) ? null
            : x.dtype == ScalarType.Int64 ? (Scalar)c.Long(key) : (Scalar)c.Double(key);
        return x.clamp(Bound("min"), Bound("max"));
    }

    private static Tensor Part((Tensor values, Tensor indices) r, string part) => part == "values" ? r.values : r.indices;

    private static Tensor Pick(Tensor[] parts, long index) => parts[index < 0 ? parts.Length + index : index];

    private static torch.nn.InterpolationMode Mode(string mode) => mode switch
    {
        "nearest" => torch.nn.InterpolationMode.Nearest,
        "bilinear" => torch.nn.InterpolationMode.Bilinear,
        "trilinear" => torch.nn.InterpolationMode.Trilinear,
        _ => throw new NotSupportedException(mode),
    };

    private static torch.nn.Reduction Reduction(string r) => r switch
    {
        "mean" => torch.nn.Reduction.Mean,
        "sum" => torch.nn.Reduction.Sum,
        _ => torch.nn.Reduction.None,
    };

    /// <summary>Inputs: x, running mean, running var, weight, bias; "part" picks the output or an updated statistic.</summary>
    private static Tensor BatchNorm(FixtureCase c, Tensor[] x)
    {
        var output = F.batch_norm(x[0], x[1], x[2], x[3], x[4], c.Bool("training"), c.Double("momentum", 0.1));
        return c.Str("part") switch { "running_mean" => x[1], "running_var" => x[2], _ => output };
    }
}
