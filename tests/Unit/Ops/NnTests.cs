using Xunit;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Functional NN ops at hand-checked values and properties.</summary>
public class NnTests
{
    [Theory]
    [InlineData("silu", -1.0, -0.2689414213699951)]   // -1 · σ(-1)
    [InlineData("silu", 2.0, 1.7615941559557649)]
    [InlineData("gelu", 1.0, 0.8413447460685429)]     // Φ(1)
    [InlineData("gelu", -1.0, -0.15865525393145707)]
    [InlineData("gelu_tanh", 1.0, 0.8411919906082768)]
    [InlineData("relu", -0.5, 0.0)]
    [InlineData("relu", 0.5, 0.5)]
    [InlineData("sigmoid", 0.0, 0.5)]
    [InlineData("sigmoid", 2.0, 0.8807970779778823)]
    [InlineData("tanh", 0.5, 0.46211715726000974)]
    [InlineData("softplus", 0.0, 0.6931471805599453)]
    [InlineData("leaky_relu", -2.0, -0.02)]
    public void Activation_at_a_known_point(string op, double x, double expected)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(x);
        var y = op switch
        {
            "silu" => F.silu(t),
            "gelu" => F.gelu(t),
            "gelu_tanh" => F.gelu(t, "tanh"),
            "relu" => F.relu(t),
            "sigmoid" => F.sigmoid(t),
            "tanh" => F.tanh(t),
            "softplus" => F.softplus(t),
            "leaky_relu" => F.leaky_relu(t),
            _ => throw new ArgumentException(op),
        };
        Assert.Equal(expected, y.item<double>(), 12);
    }

    [Fact]
    public void Gelu_rejects_an_unknown_approximation()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => F.gelu(torch.ones(1), "erf"));
    }

    [Fact]
    public void Softmax_of_zero_and_ln3_is_a_quarter_and_three_quarters()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(0.0, Math.Log(3));
        TensorAssert.Close([0.25, 0.75], F.softmax(x, 0), 1e-12, 0);
        TensorAssert.Close([Math.Log(0.25), Math.Log(0.75)], F.log_softmax(x, 0), 1e-12, 0);
    }

    [Fact]
    public void Softmax_rows_sum_to_one_along_the_chosen_dim()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var x = torch.randn([3, 4, 5], g, ScalarType.Float64) * 10;
        TensorAssert.Close(Enumerable.Repeat(1.0, 15).ToArray(), F.softmax(x, 1).sum(1), 1e-12, 1e-12);
    }

    [Fact]
    public void Linear_computes_x_wT_plus_b()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 1, 2 } });
        var w = torch.tensor(new double[,] { { 1, 0 }, { 0, 1 }, { 1, 1 } });
        Assert.Equal(new[] { 11.0, 22, 33 }, F.linear(x, w, torch.tensor(10.0, 20.0, 30.0)).ToArray<double>());
        Assert.Equal(new[] { 1.0, 2, 3 }, F.linear(x, w).ToArray<double>());
    }

    [Fact]
    public void Conv2d_with_a_ones_kernel_sums_each_window()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(16).reshape(1, 1, 4, 4).@double();
        var y = F.conv2d(x, torch.ones([1, 1, 2, 2], ScalarType.Float64), stride: 2);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, y.shape);
        Assert.Equal(new[] { 0.0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15 }, y.ToArray<double>());
    }

    [Theory]
    [InlineData(1, new long[] { 1, 2, 8 }, new long[] { 3, 2, 3 }, new long[] { 1, 3, 8 })]
    [InlineData(2, new long[] { 2, 2, 8, 6 }, new long[] { 3, 2, 3, 3 }, new long[] { 2, 3, 8, 6 })]
    [InlineData(3, new long[] { 1, 2, 4, 6, 5 }, new long[] { 4, 2, 3, 3, 3 }, new long[] { 1, 4, 4, 6, 5 })]
    public void Same_padding_conv_keeps_spatial_size(int dims, long[] input, long[] weight, long[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(input);
        var w = torch.ones(weight);
        var y = dims switch { 1 => F.conv1d(x, w, padding: 1), 2 => F.conv2d(x, w, padding: 1), _ => F.conv3d(x, w, padding: 1) };
        Assert.Equal(expected, y.shape);
    }

    [Theory]
    [InlineData(2, new long[] { 1, 4, 3, 5 }, new long[] { 1, 2, 6, 10 })]
    [InlineData(3, new long[] { 1, 4, 2, 3, 2 }, new long[] { 1, 2, 4, 6, 4 })]
    public void Transposed_conv_with_stride_two_doubles_spatial_size(int dims, long[] input, long[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(input);
        var w = torch.ones(dims == 2 ? [4, 2, 4, 4] : new long[] { 4, 2, 4, 4, 4 });
        var y = dims == 2 ? F.conv_transpose2d(x, w, stride: 2, padding: 1) : F.conv_transpose3d(x, w, stride: 2, padding: 1);
        Assert.Equal(expected, y.shape);
    }

    [Fact]
    public void Group_norm_gives_each_group_zero_mean_and_unit_variance()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        var x = torch.randn([2, 6, 4, 4], g, ScalarType.Float64) * 3 + 5;
        var y = F.group_norm(x, 3, eps: 0).reshape(2, 3, -1);
        TensorAssert.Close(new double[6], y.mean(2), 0, 1e-12);
        TensorAssert.Close(Enumerable.Repeat(1.0, 6).ToArray(), y.var(2, unbiased: false), 1e-10, 0);
    }

    [Fact]
    public void Group_norm_applies_per_channel_weight_and_bias()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 3, 1, 3 }, [1, 2, 2]);
        var y = F.group_norm(x, 1, torch.tensor(2.0, 1.0), torch.tensor(0.0, 10.0), eps: 0);
        Assert.Equal(new[] { -2.0, 2, 9, 11 }, y.ToArray<double>());
    }

    [Fact]
    public void Layer_norm_normalises_the_trailing_dims()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[,] { { 1, 2, 3 }, { 10, 10, 40 } });
        var y = F.layer_norm(x, [3], eps: 0);
        TensorAssert.Close([-Math.Sqrt(1.5), 0, Math.Sqrt(1.5), -Math.Sqrt(0.5), -Math.Sqrt(0.5), Math.Sqrt(2)], y, 1e-12, 1e-12);
    }

    [Fact]
    public void Instance_norm_normalises_each_sample_and_channel()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var x = torch.randn([2, 3, 2, 3, 2], g, ScalarType.Float64) + 4;
        var y = F.instance_norm(x, eps: 0).reshape(6, -1);
        TensorAssert.Close(new double[6], y.mean(1), 0, 1e-12);
        TensorAssert.Close(Enumerable.Repeat(1.0, 6).ToArray(), y.var(1, unbiased: false), 1e-10, 0);
    }

    [Fact]
    public void Batch_norm_training_updates_running_stats_with_momentum()
    {
        using var scope = torch.NewDisposeScope();
        // Channel 0 holds 1, 3, 5, 7 (mean 4, unbiased var 20/3); channel 1 holds 0, 0, 2, 2 (mean 1, var 4/3).
        var x = torch.tensor(new double[] { 1, 3, 0, 0, 5, 7, 2, 2 }, [2, 2, 2]);
        var mean = torch.zeros([2], ScalarType.Float64);
        var variance = torch.ones([2], ScalarType.Float64);
        var y = F.batch_norm(x, mean, variance, training: true, momentum: 0.5, eps: 0);
        TensorAssert.Close([2, 0.5], mean, 1e-12, 0);
        TensorAssert.Close([0.5 + 0.5 * 20.0 / 3, 0.5 + 0.5 * 4.0 / 3], variance, 1e-12, 0);
        // The output uses the batch's biased variance (5 and 1).
        TensorAssert.Close([-3 / Math.Sqrt(5), -1 / Math.Sqrt(5), -1, -1, 1 / Math.Sqrt(5), 3 / Math.Sqrt(5), 1, 1], y, 1e-12, 1e-12);
    }

    [Fact]
    public void Batch_norm_eval_uses_running_stats_and_leaves_them_alone()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 3, 0, 0, 5, 7, 2, 2 }, [2, 2, 2]);
        var mean = torch.tensor(1.0, -1.0);
        var variance = torch.tensor(4.0, 1.0);
        var y = F.batch_norm(x, mean, variance, torch.tensor(1.0, 2.0), torch.tensor(0.0, 0.5), training: false, eps: 0);
        TensorAssert.Close([0, 1, 2.5, 2.5, 2, 3, 6.5, 6.5], y, 1e-12, 0);
        Assert.Equal(new[] { 1.0, -1 }, mean.ToArray<double>());
        Assert.Equal(new[] { 4.0, 1 }, variance.ToArray<double>());
    }

    [Fact]
    public void Dropout_with_the_same_seed_gives_the_same_mask()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(1000);
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        Assert.True(F.dropout(x, 0.3, true, g1).equal(F.dropout(x, 0.3, true, g2)));
        using var g3 = new Generator(43);
        Assert.False(F.dropout(x, 0.3, true, g1).equal(F.dropout(x, 0.3, true, g3)));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void Dropout_zeroes_about_p_and_scales_survivors_by_one_over_one_minus_p(double p)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(7);
        const int n = 200_000;
        var y = F.dropout(torch.full([n], 2.0, ScalarType.Float64), p, true, g).ToArray<double>();
        var zeros = y.Count(v => v == 0) / (double)n;
        Assert.InRange(zeros, p - 0.01, p + 0.01);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(2 / (1 - p), v, 12));
    }

    [Fact]
    public void Dropout_in_eval_or_with_p_zero_is_the_identity()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var x = torch.randn([50], g);
        Assert.True(F.dropout(x, 0.5, false, g).equal(x));
        Assert.True(F.dropout(x, 0.0, true, g).equal(x));
        Assert.Equal(0f, F.dropout(x, 1.0, true, g).abs().sum().item<float>());
        Assert.Throws<TorchException>(() => F.dropout(x, 1.5, true, g));
    }

    [Fact]
    public void Pooling_2d_at_known_values()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(16).reshape(1, 1, 4, 4).@double();
        Assert.Equal(new[] { 2.5, 4.5, 10.5, 12.5 }, F.avg_pool2d(x, 2).ToArray<double>());
        Assert.Equal(new[] { 5.0, 7, 13, 15 }, F.max_pool2d(x, 2).ToArray<double>());
        Assert.Equal(new long[] { 1, 1, 3, 3 }, F.max_pool2d(x, 2, stride: 1).shape);
    }

    [Fact]
    public void Pooling_3d_at_known_values()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(8).reshape(1, 1, 2, 2, 2).@double();
        Assert.Equal(3.5, F.avg_pool3d(x, 2).item<double>());
        Assert.Equal(7.0, F.max_pool3d(x, 2).item<double>());
    }

    [Fact]
    public void Nearest_upsampling_by_two_repeats_each_pixel()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 2, 3, 4 }, [1, 1, 2, 2]);
        var y = F.interpolate(x, scaleFactor: 2);
        Assert.Equal(new[] { 1.0, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, y.ToArray<double>());
        Assert.Equal(new long[] { 1, 1, 4, 6 }, F.interpolate(x, [4, 6]).shape);
    }

    [Fact]
    public void Bilinear_with_aligned_corners_interpolates_linearly()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 0, 2, 4, 6 }, [1, 1, 2, 2]);
        var y = F.interpolate(x, [3, 3], mode: torch.nn.InterpolationMode.Bilinear, alignCorners: true);
        Assert.Equal(new[] { 0.0, 1, 2, 2, 3, 4, 4, 5, 6 }, y.ToArray<double>());
    }

    [Fact]
    public void Trilinear_upsampling_preserves_a_constant()
    {
        using var scope = torch.NewDisposeScope();
        var y = F.interpolate(torch.full([1, 2, 2, 3, 2], 1.5), scaleFactor: 2, mode: torch.nn.InterpolationMode.Trilinear);
        Assert.Equal(new long[] { 1, 2, 4, 6, 4 }, y.shape);
        Assert.All(y.ToArray<float>(), v => Assert.Equal(1.5f, v));
    }

    [Fact]
    public void Interpolate_rejects_a_mode_that_does_not_match_the_rank()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => F.interpolate(torch.ones(1, 1, 2, 2), [4, 4], mode: torch.nn.InterpolationMode.Trilinear));
        Assert.Throws<ArgumentException>(() => F.interpolate(torch.ones(1, 1, 2, 2)));
    }

    [Fact]
    public void Embedding_picks_rows()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.arange(12).reshape(4, 3).@double();
        var y = F.embedding(torch.tensor(new long[,] { { 3, 0 } }), w);
        Assert.Equal(new long[] { 1, 2, 3 }, y.shape);
        Assert.Equal(new[] { 9.0, 10, 11, 0, 1, 2 }, y.ToArray<double>());
    }

    [Fact]
    public void Sdpa_with_a_bool_mask_allowing_one_key_returns_that_value()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(2);
        var q = torch.randn([1, 2, 4], g);
        var k = torch.randn([1, 3, 4], g);
        var v = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [1, 3, 2]);
        var mask = torch.tensor(new[] { false, true, false, true, false, false }, [2, 3]);
        var y = F.scaled_dot_product_attention(q, k, v, mask);
        Assert.Equal(new[] { 3f, 4f, 1f, 2f }, y.ToArray<float>());
    }

    [Fact]
    public void Sdpa_float_mask_of_zeros_changes_nothing_and_a_large_negative_acts_as_false()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        var q = torch.randn([2, 3, 4], g, ScalarType.Float64);
        var k = torch.randn([2, 5, 4], g, ScalarType.Float64);
        var v = torch.randn([2, 5, 2], g, ScalarType.Float64);
        var plain = F.scaled_dot_product_attention(q, k, v);
        Assert.True(plain.allclose(F.scaled_dot_product_attention(q, k, v, torch.zeros([3, 5], ScalarType.Float64)), 1e-12, 1e-12));
        var keep = torch.tensor(new[] { true, false, true, true, false }, [1, 5]);
        var additive = torch.where(keep, torch.zeros([1], ScalarType.Float64), torch.full([1], -1e30, ScalarType.Float64));
        Assert.True(F.scaled_dot_product_attention(q, k, v, keep).allclose(F.scaled_dot_product_attention(q, k, v, additive), 1e-12, 1e-12));
    }

    [Fact]
    public void Sdpa_causal_first_query_sees_only_the_first_key()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(9);
        var q = torch.randn([1, 4, 3], g);
        var k = torch.randn([1, 4, 3], g);
        var v = torch.randn([1, 4, 2], g);
        var y = F.scaled_dot_product_attention(q, k, v, isCausal: true);
        Assert.Equal(v[0, 0].ToArray<float>(), y[0, 0].ToArray<float>());
        // The last query sees every key: same as no mask.
        Assert.True(y[0, 3].allclose(F.scaled_dot_product_attention(q, k, v)[0, 3]));
    }

    [Fact]
    public void Sdpa_default_scale_is_one_over_sqrt_of_the_head_dim()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(8);
        var q = torch.randn([3, 16], g, ScalarType.Float64);
        var k = torch.randn([5, 16], g, ScalarType.Float64);
        var v = torch.randn([5, 2], g, ScalarType.Float64);
        Assert.True(F.scaled_dot_product_attention(q, k, v).allclose(F.scaled_dot_product_attention(q, k, v, scale: 0.25), 1e-12, 1e-12));
    }

    [Theory]
    [InlineData(torch.nn.Reduction.Mean, new[] { 14.0 / 3 })]
    [InlineData(torch.nn.Reduction.Sum, new[] { 14.0 })]
    [InlineData(torch.nn.Reduction.None, new[] { 1.0, 4, 9 })]
    public void Mse_loss_with_each_reduction(torch.nn.Reduction reduction, double[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var loss = F.mse_loss(torch.tensor(1.0, 2.0, 3.0), torch.tensor(0.0, 0.0, 0.0), reduction);
        TensorAssert.Close(expected, loss, 1e-12, 0);
    }

    [Theory]
    [InlineData(torch.nn.Reduction.Mean, new[] { 2.0 })]
    [InlineData(torch.nn.Reduction.Sum, new[] { 6.0 })]
    [InlineData(torch.nn.Reduction.None, new[] { 1.0, 2, 3 })]
    public void L1_loss_with_each_reduction(torch.nn.Reduction reduction, double[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var loss = F.l1_loss(torch.tensor(1.0, -2.0, 3.0), torch.tensor(0.0, 0.0, 0.0), reduction);
        TensorAssert.Close(expected, loss, 1e-12, 0);
    }
}
