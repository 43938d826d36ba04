using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests;

public class EmbeddingLaws
{
    private static readonly Gen<SinusoidalSpec> Specs =
        from half in Gen.Choose(1, 64)
        from flip in Gen.Elements(true, false)
        from shift in Gen.Elements(0.0, 1.0)
        where half - shift > 0
        select new SinusoidalSpec(2 * half, flip, shift);

    private static readonly Gen<double[]> Times = Law.Real(0, 1000).ArrayOf().Where(a => a.Length > 0);

    [Fact]
    public void Sinusoidal_values_lie_in_unit_interval_and_pairs_satisfy_sin2_plus_cos2_is_1()
    {
        Law.Holds(from s in Specs from t in Times select (s, t), c =>
        {
            var e = Sinusoidal.Embed(c.s, torch.tensor(c.t));       // (N, D)
            var half = c.s.Dim / 2;
            var pairs = e.narrow(1, 0, half).square() + e.narrow(1, half, half).square();
            return e.shape.SequenceEqual(new long[] { c.t.Length, c.s.Dim }) && Law.Max(e) <= 1 && Law.Max(pairs - 1.0) < 1e-5;
        });
    }

    [Fact]
    public void Sinusoidal_embeddings_of_distinct_integer_times_differ()
    {
        Law.Holds(from s in Specs.Where(s => s.Dim >= 8) from a in Gen.Choose(0, 999) from b in Gen.Choose(0, 999) where a != b select (s, a, b), c =>
        {
            var e = Sinusoidal.Embed(c.s, torch.tensor(new long[] { c.a, c.b }));
            return Law.Max(e[0] - e[1]) > 1e-3;
        });
    }

    [Fact]
    public void Sinusoidal_of_t0_is_zeros_then_ones_or_flipped()
    {
        using var scope = torch.NewDisposeScope();
        var e = Sinusoidal.Embed(new SinusoidalSpec(8), torch.zeros(1)).ToArray<float>();
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 1, 1, 1 }, e);
        var f = Sinusoidal.Embed(new SinusoidalSpec(8, FlipSinToCos: true), torch.zeros(1)).ToArray<float>();
        Assert.Equal(new float[] { 1, 1, 1, 1, 0, 0, 0, 0 }, f);
    }

    [Fact]
    public void Sinusoidal_frequencies_follow_DDPM_at_t1()
    {
        // DDPM (shift 1): ω_i = 10000^(−i/(h−1)); the first sine is sin(1), the last cos(10⁻⁴).
        using var scope = torch.NewDisposeScope();
        var e = Sinusoidal.Embed(new SinusoidalSpec(6), torch.ones(1)).ToArray<float>();
        Assert.Equal(Math.Sin(1), e[0], 6);
        Assert.Equal(Math.Sin(0.01), e[1], 6);
        Assert.Equal(Math.Cos(1e-4), e[5], 6);
    }

    [Fact]
    public void Fourier_features_lie_in_unit_interval_with_unit_pairs_and_frozen_W()
    {
        Law.Holds(from half in Gen.Choose(1, 64) from seed in Law.Seed from t in Times select (half, seed, t), c =>
        {
            using var g = new Generator(c.seed);
            var layer = new FourierSpec(c.half).Declare("time_proj");
            using var p = Params.Init(Module.Group("", "Model", [2 * c.half], [layer.Module]), g);
            var e = layer.Embed(p, torch.tensor(c.t));
            var pairs = e.narrow(1, 0, c.half).square() + e.narrow(1, c.half, c.half).square();
            var w = p.Named().Single();
            return w.Name == "time_proj.W" && !w.Tensor.requires_grad && !p.Trainable().Any() && Law.Max(e) <= 1 && Law.Max(pairs - 1.0) < 1e-5 && e.size(1) == 2 * c.half;
        }, 100);
    }

    [Fact]
    public void Time_mlp_maps_C_to_4C_with_two_linears()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        var mlp = TimeMlpSpec.For(32).Declare("time_embedding", "TimestepEmbedding", TimeMlpSpec.Diffusers);
        using var p = Params.Init(Module.Group("", "Model", [128], [mlp.Module]), g);
        var y = mlp.Forward(p, Sinusoidal.Embed(new SinusoidalSpec(32), torch.arange(0, 3)));
        Assert.Equal(new long[] { 3, 128 }, y.shape);
        Assert.Equal(32 * 128 + 128 + 128 * 128 + 128, p.Count());
        Assert.Equal(["time_embedding.linear_1.weight", "time_embedding.linear_1.bias", "time_embedding.linear_2.weight", "time_embedding.linear_2.bias"],
            p.Named().Select(n => n.Name));
    }
}
