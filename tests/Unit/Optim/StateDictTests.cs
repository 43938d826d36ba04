using System.Text.Json;
using Diffusion.Torch.Optim;
using Xunit;

namespace Diffusion.Torch.Tests.Optim;

/// <summary>Saving and restoring optimizer state: resuming must continue bit for bit.</summary>
public class StateDictTests
{
    public static TheoryData<string> Optimizers() => new("SGD", "Adam", "AdamW");

    private static IOptimizer Make(string kind, IEnumerable<Tensor> ps) => kind switch
    {
        "SGD" => torch.optim.SGD(ps, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01),
        "Adam" => torch.optim.Adam(ps, lr: 0.01, weight_decay: 0.1, amsgrad: true),
        _ => torch.optim.AdamW(ps, lr: 0.01, amsgrad: true),
    };

    /// <summary>Params of a tiny model, and a loss with gradients that depend on them.</summary>
    private static Tensor[] Params(ulong seed)
    {
        var g = torch.manual_seed(seed);
        return [torch.randn([3, 4], g).requires_grad_(), torch.randn([4], g).requires_grad_()];
    }

    private static void Step(IOptimizer opt, Tensor[] ps, int k)
    {
        using var scope = torch.NewDisposeScope();
        opt.zero_grad();
        var x = torch.linspace(-1, 1, 3).reshape(1, 3) * (k + 1);
        ((x.matmul(ps[0]) + ps[1]).tanh().pow(2).sum() + ps[1].sum()).backward();
        opt.step();
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Three_steps_saved_loaded_and_three_more_equal_six_uninterrupted(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var straight = Params(7);
        using var reference = Make(kind, straight);
        for (var k = 0; k < 6; k++) Step(reference, straight, k);

        var resumed = Params(7);
        using (var first = Make(kind, resumed))
        {
            for (var k = 0; k < 3; k++) Step(first, resumed, k);
            using var saved = first.state_dict();
            using var second = Make(kind, resumed);
            first.Dispose(); // the state dict holds copies
            second.load_state_dict(saved);
            for (var k = 3; k < 6; k++) Step(second, resumed, k);
        }
        for (var i = 0; i < straight.Length; i++) Assert.True(straight[i].equal(resumed[i]), $"param {i} differs after resuming {kind}");
    }

    [Fact]
    public void Metadata_round_trips_through_json()
    {
        using var scope = torch.NewDisposeScope();
        var ps = Params(3);
        using var opt = torch.optim.AdamW(ps, lr: 0.01, beta2: 0.95, amsgrad: true);
        for (var k = 0; k < 2; k++) Step(opt, ps, k);
        using var state = opt.state_dict();

        var json = JsonSerializer.Serialize(state.metadata);
        Assert.Contains("\"kind\":\"adam\"", json);
        var back = JsonSerializer.Deserialize<OptimizerMetadata>(json)!;
        Assert.Equal("AdamW", back.optimizer);
        Assert.Equal(state.metadata.param_groups[0].options, back.param_groups[0].options);
        Assert.Equal(new Dictionary<int, long> { [0] = 2, [1] = 2 }, back.steps);
        Assert.Equal(
            new[] { "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq" },
            state.tensors.Keys.Order());

        using var fresh = torch.optim.AdamW(Params(3), lr: 1);
        fresh.load_state_dict(new OptimizerStateDict(state.tensors, back));
        Assert.Equal(0.01, fresh.param_groups[0].lr); // hyperparameters come from the state, as in PyTorch
        Assert.Equal(0.95, fresh.param_groups[0].options.beta2);
    }

    [Fact]
    public void Loading_state_of_the_wrong_shape_names_the_param_and_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var ps = Params(1);
        using var opt = torch.optim.Adam(ps);
        Step(opt, ps, 0);
        using var state = opt.state_dict();

        using var other = torch.optim.Adam([torch.zeros(4, 3).requires_grad_(), torch.zeros(4).requires_grad_()]);
        var e = Assert.Throws<ArgumentException>(() => other.load_state_dict(state));
        Assert.Contains("'state.0.exp_avg' has shape [3, 4] but param 0 (group 0, index 0) has shape [4, 3]", e.Message);
        Assert.Contains("'state.0.exp_avg_sq' has shape [3, 4]", e.Message);
        Assert.DoesNotContain("state.1", e.Message);
    }

    [Fact]
    public void Loading_rejects_count_optimizer_and_missing_state_mismatches()
    {
        using var scope = torch.NewDisposeScope();
        var ps = Params(1);
        using var opt = torch.optim.Adam(ps);
        Step(opt, ps, 0);
        using var state = opt.state_dict();

        using var fewer = torch.optim.Adam([torch.zeros(3, 4).requires_grad_()]);
        var e = Assert.Throws<ArgumentException>(() => fewer.load_state_dict(state));
        Assert.Contains("param group 0: the state has 2 params, this optimizer has 1", e.Message);

        using var sgd = torch.optim.SGD(Params(1), lr: 0.1, momentum: 0.9);
        var wrong = Assert.Throws<ArgumentException>(() => sgd.load_state_dict(state));
        Assert.Contains("the state was saved by Adam, this optimizer is SGD", wrong.Message);

        var partial = new OptimizerStateDict(state.tensors.Where(kv => kv.Key != "state.1.exp_avg_sq").ToDictionary(), state.metadata);
        using var target = torch.optim.Adam(Params(1));
        var missing = Assert.Throws<ArgumentException>(() => target.load_state_dict(partial));
        Assert.Contains("param 1 has state but no 'state.1.exp_avg_sq'", missing.Message);
    }

    [Fact]
    public void A_failed_load_changes_nothing()
    {
        using var scope = torch.NewDisposeScope();
        var ps = Params(1);
        using var opt = torch.optim.Adam(ps, lr: 0.5);
        Step(opt, ps, 0);
        using var before = opt.state_dict();
        var bad = new OptimizerStateDict(new Dictionary<string, Tensor> { ["state.9.exp_avg"] = torch.zeros(1) }, before.metadata);
        Assert.Throws<ArgumentException>(() => opt.load_state_dict(bad));
        using var after = opt.state_dict();
        Assert.Equal(0.5, opt.param_groups[0].lr);
        Assert.Equal(before.tensors.Keys.Order(), after.tensors.Keys.Order());
        foreach (var (key, t) in before.tensors) Assert.True(t.equal(after.tensors[key]), key);
    }
}
