using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Autograd of representative differentiable ops against finite differences (float64).</summary>
public class GradCheckTests
{
    private sealed record Case(Func<Generator, Tensor[]> Inputs, Func<Tensor[], Tensor> F);

    private static Tensor N(Generator g, params long[] shape) => torch.randn(shape, g, ScalarType.Float64);

    /// <summary>Positive values away from 0, for log, sqrt and fractional powers.</summary>
    private static Tensor P(Generator g, params long[] shape) => torch.rand(shape, g, ScalarType.Float64) + 0.5;

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["silu"] = new(g => [N(g, 2, 3)], x => F.silu(x[0])),
        ["gelu"] = new(g => [N(g, 2, 3)], x => F.gelu(x[0])),
        ["gelu_tanh"] = new(g => [N(g, 2, 3)], x => F.gelu(x[0], "tanh")),
        ["tanh"] = new(g => [N(g, 2, 3)], x => F.tanh(x[0])),
        ["sigmoid"] = new(g => [N(g, 2, 3)], x => F.sigmoid(x[0])),
        ["softplus"] = new(g => [N(g, 5)], x => F.softplus(x[0])),
        ["exp"] = new(g => [N(g, 2, 3)], x => x[0].exp()),
        ["log"] = new(g => [P(g, 2, 3)], x => x[0].log()),
        ["sqrt"] = new(g => [P(g, 2, 3)], x => x[0].sqrt()),
        ["sin_cos"] = new(g => [N(g, 4)], x => x[0].sin() * x[0].cos()),
        ["pow_scalar"] = new(g => [P(g, 2, 3)], x => x[0].pow(2.5)),
        ["pow_tensor"] = new(g => [P(g, 4), N(g, 4)], x => x[0].pow(x[1])),
        ["div_broadcast"] = new(g => [N(g, 3, 4), P(g, 4)], x => x[0] / x[1]),
        ["matmul"] = new(g => [N(g, 3, 4), N(g, 4, 2)], x => x[0].matmul(x[1])),
        ["matmul_batched"] = new(g => [N(g, 2, 3, 4), N(g, 4, 2)], x => x[0].matmul(x[1])),
        ["bmm"] = new(g => [N(g, 2, 2, 3), N(g, 2, 3, 2)], x => x[0].bmm(x[1])),
        ["einsum"] = new(g => [N(g, 2, 3), N(g, 3, 4)], x => torch.einsum("ij,jk->ik", x[0], x[1])),
        ["linear"] = new(g => [N(g, 2, 4), N(g, 3, 4), N(g, 3)], x => F.linear(x[0], x[1], x[2])),
        ["conv2d"] = new(g => [N(g, 1, 2, 4, 4), N(g, 3, 2, 3, 3), N(g, 3)], x => F.conv2d(x[0], x[1], x[2], padding: 1)),
        ["conv2d_stride_groups"] = new(g => [N(g, 1, 4, 5, 5), N(g, 2, 2, 3, 3)], x => F.conv2d(x[0], x[1], stride: 2, groups: 2)),
        ["conv3d"] = new(g => [N(g, 1, 2, 3, 3, 3), N(g, 2, 2, 2, 2, 2), N(g, 2)], x => F.conv3d(x[0], x[1], x[2])),
        ["conv_transpose2d"] = new(g => [N(g, 1, 2, 3, 3), N(g, 2, 3, 3, 3), N(g, 3)], x => F.conv_transpose2d(x[0], x[1], x[2], stride: 2)),
        ["group_norm"] = new(g => [N(g, 2, 4, 3, 3), N(g, 4), N(g, 4)], x => F.group_norm(x[0], 2, x[1], x[2])),
        ["layer_norm"] = new(g => [N(g, 2, 3, 4), N(g, 4), N(g, 4)], x => F.layer_norm(x[0], [4], x[1], x[2])),
        ["instance_norm"] = new(g => [N(g, 2, 2, 3, 3)], x => F.instance_norm(x[0])),
        ["batch_norm_train"] = new(g => [N(g, 4, 3, 2), N(g, 3), N(g, 3)], x => F.batch_norm(x[0], null, null, x[1], x[2], training: true)),
        ["softmax"] = new(g => [N(g, 2, 5)], x => F.softmax(x[0], -1)),
        ["log_softmax"] = new(g => [N(g, 2, 5)], x => F.log_softmax(x[0], 0)),
        ["sdpa"] = new(g => [N(g, 1, 2, 3, 4), N(g, 1, 2, 5, 4), N(g, 1, 2, 5, 3)], x => F.scaled_dot_product_attention(x[0], x[1], x[2])),
        ["sdpa_causal"] = new(g => [N(g, 1, 4, 3), N(g, 1, 4, 3), N(g, 1, 4, 2)], x => F.scaled_dot_product_attention(x[0], x[1], x[2], isCausal: true)),
        ["interpolate_bilinear"] = new(g => [N(g, 1, 2, 3, 3)], x => F.interpolate(x[0], [5, 4], mode: torch.nn.InterpolationMode.Bilinear)),
        ["interpolate_trilinear"] = new(g => [N(g, 1, 1, 2, 2, 3)], x => F.interpolate(x[0], scaleFactor: 1.5, mode: torch.nn.InterpolationMode.Trilinear)),
        ["avg_pool2d"] = new(g => [N(g, 1, 2, 4, 4)], x => F.avg_pool2d(x[0], 2)),
        ["avg_pool3d"] = new(g => [N(g, 1, 1, 4, 4, 2)], x => F.avg_pool3d(x[0], 2)),
        ["max_pool2d"] = new(g => [N(g, 1, 2, 4, 4)], x => F.max_pool2d(x[0], 2)),
        ["mse_loss"] = new(g => [N(g, 3, 4), N(g, 3, 4)], x => F.mse_loss(x[0], x[1])),
        ["var_std"] = new(g => [N(g, 3, 4)], x => x[0].var(1) + x[0].std(0).sum()),
        ["mean_sum_dims"] = new(g => [N(g, 2, 3, 4)], x => x[0].mean([0, 2], keepdim: true) * x[0].sum(1, keepdim: true)),
        ["shape_ops"] = new(g => [N(g, 2, 3, 4)], x => x[0].permute(2, 0, 1).reshape(4, 6).narrow(1, 1, 4).unsqueeze(0).expand(2, 4, 4) * 1.5),
        ["cat_stack_where"] = new(g => [N(g, 2, 3), N(g, 2, 3)], x => torch.where(x[0] > 0, torch.cat([x[0], x[1]], 1).narrow(1, 0, 3), torch.stack([x[1], x[0]]).sum(0))),
        ["clamp"] = new(g => [N(g, 10)], x => x[0].clamp(-0.5, 0.5) * x[0]),
    };

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Autograd_matches_finite_differences(string name)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator((ulong)name.Length * 7919 + 17);
        var c = Cases[name];
        GradCheck.Check(c.F, c.Inputs(g));
    }

    [Fact]
    public void Gradcheck_catches_a_wrong_gradient()
    {
        // detach() inside f hides one factor from autograd: the check must notice.
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(0.5, 1.5, -2.0);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => GradCheck.Check(t => t[0] * t[0].detach(), [x]));
    }
}
