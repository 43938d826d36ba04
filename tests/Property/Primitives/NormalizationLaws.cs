using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests;

public class NormalizationLaws
{
    /// <summary>A (N, C, H, W) or (N, C, D, H, W) input with G groups, drawn from a seed and an offset/scale far from standard.</summary>
    public sealed record Case(int N, int C, int G, long[] Spatial, ulong Seed, double Scale, double Shift)
    {
        public long[] Shape => [N, C, .. Spatial];

        public Tensor Input(Generator g) => torch.randn(Shape, g, torch.float64) * Scale + Shift;

        public override string ToString() => $"N={N} C={C} G={G} spatial=[{string.Join(",", Spatial)}] seed={Seed}";
    }

    private static readonly Gen<Case> Cases =
        from n in Gen.Choose(1, 4)
        from cg in Gen.Elements((8, 1), (8, 2), (8, 8), (12, 3), (16, 4), (32, 32), (48, 16), (64, 32))
        from rank in Gen.Elements(2, 3)
        from size in Gen.Choose(2, rank == 2 ? 12 : 5)
        from seed in Law.Seed
        from scale in Law.Real(0.1, 10)
        from shift in Law.Real(-5, 5)
        select new Case(n, cg.Item1, cg.Item2, Enumerable.Repeat((long)size, rank).ToArray(), seed, scale, shift);

    /// <summary>GroupNorm in float64 with ε = 1e-10, so the laws (exact as ε → 0) hold to ~1e-9.</summary>
    private static Tensor Norm(Case c, Tensor x, Tensor? gamma = null, Tensor? beta = null)
    {
        var spec = new GroupNormSpec(c.C, c.G, 1e-10, gamma is not null);
        var p = Params.From(spec.Declare("norm", [c.C]).Module, (name, _) => name == "weight" ? gamma! : beta!); // not disposed: the case's scope owns γ, β
        return GroupNorm.Forward(spec, p, x);
    }

    /// <summary>(N, G, rest) view: one row per (sample, group).</summary>
    private static Tensor Grouped(Case c, Tensor y) => y.reshape(c.N, c.G, -1);

    [Fact]
    public void GroupNorm_gives_each_sample_group_mean_0_and_variance_1()
    {
        Law.Holds(Cases, c =>
        {
            using var g = new Generator(c.Seed);
            var x = c.Input(g);
            var y = Grouped(c, Norm(c, x));
            var mean = y.mean(2);
            var variance = y.var(2, unbiased: false);
            // The biased variance is exactly s/(s + ε) for the group's own biased input variance s. Comparing with 1 instead
            // fails now and then: a group of 4 values (32 groups of 32 channels at 2×2) can have s ≪ σ², so ε/s is not small.
            var s2 = Grouped(c, x).var(2, unbiased: false);
            return Law.Max(mean) < 1e-9 && Law.Max(variance - s2 / (s2 + 1e-10)) < 1e-9 && Law.Max(variance - 1.0) < 1e-2;
        });
    }

    [Fact]
    public void GroupNorm_is_invariant_to_scaling_and_shifting_one_sample_group()
    {
        Law.Holds(from c in Cases from a in Law.Real(0.5, 20) from b in Law.Real(-10, 10) select (c, a, b), t =>
        {
            var (c, a, b) = t;
            using var g = new Generator(c.Seed);
            var x = c.Input(g);
            var mask = torch.zeros(c.Shape, torch.float64);
            mask.narrow(0, 0, 1).narrow(1, 0, c.C / c.G).fill_(1);                  // sample 0, group 0
            var moved = x + mask * (x * (a - 1) + b);                                // a·x + b there, x elsewhere
            return Norm(c, x).allclose(Norm(c, moved), 1e-7, 1e-7);
        });
    }

    [Fact]
    public void GroupNorm_output_of_a_sample_ignores_the_batch_but_BatchNorm_does_not()
    {
        Law.Holds(Cases.Where(c => c.N >= 2), c =>
        {
            using var g = new Generator(c.Seed);
            var x = c.Input(g);
            var others = torch.randn(c.Shape, g, torch.float64) * 3.0;
            others.narrow(0, 0, 1).copy_(x.narrow(0, 0, 1));                          // same sample 0, different batch mates
            var gnSame = Norm(c, x).narrow(0, 0, 1).allclose(Norm(c, others).narrow(0, 0, 1), 1e-9, 1e-9);
            var bn = new BatchNormSpec(c.C);
            using var s1 = BatchNorm.Init(bn);
            using var s2 = BatchNorm.Init(bn);
            var bnSame = BatchNorm.Forward(bn, s1, x.@float(), true).narrow(0, 0, 1)
                .allclose(BatchNorm.Forward(bn, s2, others.@float(), true).narrow(0, 0, 1), 1e-4, 1e-4);
            return gnSame && !bnSame;
        });
    }

    [Fact]
    public void GroupNorm_with_affine_is_gamma_n_plus_beta()
    {
        Law.Holds(Cases, c =>
        {
            using var g = new Generator(c.Seed);
            var x = c.Input(g);
            var gamma = torch.randn([c.C], g, torch.float64);
            var beta = torch.randn([c.C], g, torch.float64);
            var n = Norm(c, x);
            var shape = c.Shape.Select((_, i) => i == 1 ? (long)c.C : 1L).ToArray();
            return Norm(c, x, gamma, beta).allclose(n * gamma.reshape(shape) + beta.reshape(shape), 1e-9, 1e-9);
        });
    }

    [Fact]
    public void InstanceNorm_is_GroupNorm_with_C_groups_and_LayerNorm_is_GroupNorm_with_one()
    {
        Law.Holds(Cases, c =>
        {
            using var g = new Generator(c.Seed);
            var x = c.Input(g);
            var asInstance = Norm(c with { G = c.C }, x);
            var asLayer = Norm(c with { G = 1 }, x);
            return InstanceNorm.Forward(x, eps: 1e-10).allclose(asInstance, 1e-9, 1e-9) && LayerNorm.OverSample(x, 1e-10).allclose(asLayer, 1e-9, 1e-9);
        });
    }

    [Fact]
    public void BatchNorm_eval_uses_running_statistics_from_training()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(7);
        var spec = new BatchNormSpec(4, Momentum: 1.0);                             // running stats = last batch's
        using var p = BatchNorm.Init(spec);
        var x = torch.randn([8, 4, 3, 3], g) * 2.0 + 1.0;
        var train = BatchNorm.Forward(spec, p, x, training: true);
        var eval = BatchNorm.Forward(spec, p, x, training: false);
        Assert.True(p["running_mean"].allclose(x.mean([0, 2, 3]), 1e-5, 1e-5));
        // Eval normalises with the unbiased running variance, so it differs slightly from training's biased one.
        Assert.True(train.allclose(eval, 1e-1, 1e-1));
        Assert.False(train.allclose(eval, 1e-6, 1e-6));
    }

    [Theory]
    [InlineData(64, 32)]
    [InlineData(128, 32)]
    [InlineData(48, 24)]
    [InlineData(96, 32)]
    [InlineData(40, 20)]
    [InlineData(7, 7)]
    [InlineData(3, 3)]
    [InlineData(1, 1)]
    public void ChooseGroups_prefers_32_else_the_largest_divisor_up_to_32(int channels, int groups) =>
        Assert.Equal(groups, GroupNorm.ChooseGroups(channels));

    [Fact]
    public void ChooseGroups_always_divides_and_never_exceeds_32()
    {
        Law.Holds(Gen.Choose(1, 4096), c =>
        {
            var g = GroupNorm.ChooseGroups(c);
            return c % g == 0 && g <= 32 && Enumerable.Range(g + 1, Math.Max(0, Math.Min(32, c) - g)).All(h => c % h != 0);
        });
    }
}
