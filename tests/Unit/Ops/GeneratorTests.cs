using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>Seeded generators: same seed → bitwise the same draws; saved state replays them.</summary>
public class GeneratorTests
{
    public static TheoryData<string> Draws() => new() { "rand", "randn", "randint", "randperm", "dropout", "normal_", "uniform_", "bernoulli" };

    private static Tensor Draw(string kind, Generator g) => kind switch
    {
        "rand" => torch.rand([64], g),
        "randn" => torch.randn([8, 8], g, ScalarType.Float64),
        "randint" => torch.randint(0, 1000, [64], g),
        "randperm" => torch.randperm(64, g),
        "dropout" => torch.nn.functional.dropout(torch.ones(64), 0.5, true, g),
        "normal_" => torch.empty([64]).normal_(2, 3, g),
        "uniform_" => torch.empty([64]).uniform_(-1, 1, g),
        "bernoulli" => torch.bernoulli(torch.full([64], 0.5), g),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Draws))]
    public void Same_seed_gives_bitwise_the_same_tensor(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var a = new Generator(123);
        using var b = new Generator(123);
        Assert.True(Draw(kind, a).equal(Draw(kind, b)));
    }

    [Theory]
    [MemberData(nameof(Draws))]
    public void Different_seeds_give_different_tensors(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var a = new Generator(123);
        using var b = new Generator(124);
        Assert.False(Draw(kind, a).equal(Draw(kind, b)));
    }

    [Theory]
    [MemberData(nameof(Draws))]
    public void Restoring_a_saved_state_replays_the_sequence(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(99);
        Draw(kind, g);
        var state = g.get_state();
        var first = Draw(kind, g);
        var second = Draw(kind, g);
        Assert.False(first.equal(second));
        g.set_state(state);
        Assert.True(first.equal(Draw(kind, g)));
        Assert.True(second.equal(Draw(kind, g)));
    }

    [Fact]
    public void Manual_seed_restarts_the_sequence_and_reports_the_seed()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        Assert.Equal(5UL, g.initial_seed());
        var first = torch.randn([10], g);
        g.manual_seed(5);
        Assert.True(first.equal(torch.randn([10], g)));
        g.manual_seed(6);
        Assert.Equal(6UL, g.initial_seed());
    }

    [Fact]
    public void Randint_and_rand_stay_in_range_and_randperm_is_a_permutation()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(8);
        Assert.All(torch.randint(-3, 4, [1000], g).ToArray<long>(), v => Assert.InRange(v, -3, 3));
        Assert.All(torch.rand([1000], g).ToArray<float>(), v => Assert.InRange(v, 0f, 0.99999994f));
        var perm = torch.randperm(50, g).ToArray<long>();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), perm.Order());
    }

    [Fact]
    public void Randn_has_roughly_zero_mean_and_unit_std()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(10);
        var x = torch.randn([100_000], g, ScalarType.Float64);
        Assert.InRange(x.mean().item<double>(), -0.02, 0.02);
        Assert.InRange(x.std().item<double>(), 0.98, 1.02);
    }

    [Fact]
    public void A_disposed_generator_throws_ObjectDisposedException()
    {
        var g = new Generator(1);
        g.Dispose();
        Assert.Throws<ObjectDisposedException>(() => torch.rand([2], g));
    }
}
