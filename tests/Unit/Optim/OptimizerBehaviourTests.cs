using Diffusion.Torch.Optim;
using Xunit;

namespace Diffusion.Torch.Tests.Optim;

/// <summary>Parameter groups, learning-rate changes, skipped params, zero_grad and option checks.</summary>
public class OptimizerBehaviourTests
{
    private static Tensor Param(params float[] values) => torch.tensor(values).requires_grad_();

    private static void SetGrad(Tensor p, params float[] g) => p.grad = torch.tensor(g);

    [Fact]
    public void Each_group_uses_its_own_lr()
    {
        using var scope = torch.NewDisposeScope();
        var a = Param(1f, 2f);
        var b = Param(1f, 2f);
        var defaults = new SGDOptions { lr = 0.1 };
        using var opt = new SGD([new ParamGroup<SGDOptions>([a], defaults), new ParamGroup<SGDOptions>([b], defaults with { lr = 0.5 })], defaults);
        SetGrad(a, 1f, 1f);
        SetGrad(b, 1f, 1f);
        opt.step();
        Assert.Equal(new[] { 0.9f, 1.9f }, a.ToArray<float>());
        Assert.Equal(new[] { 0.5f, 1.5f }, b.ToArray<float>());
        Assert.Equal(0.5, opt.param_groups[1].lr);
    }

    [Fact]
    public void An_lr_change_between_steps_takes_effect()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(0f);
        using var opt = torch.optim.SGD([p], lr: 1);
        SetGrad(p, 1f);
        opt.step();
        ((IOptimizer)opt).param_groups[0].lr = 0.25;
        opt.step();
        Assert.Equal(-1.25f, p.item<float>());
        Assert.Equal(0.25, opt.param_groups[0].options.lr);
    }

    [Fact]
    public void Params_without_grad_are_skipped_and_get_no_state()
    {
        using var scope = torch.NewDisposeScope();
        var a = Param(1f, 2f);
        var b = Param(3f, 4f);
        using var opt = torch.optim.Adam([a, b], lr: 0.1);
        SetGrad(a, 1f, -1f);
        opt.step();
        opt.step();
        Assert.Equal(new[] { 3f, 4f }, b.ToArray<float>());
        using var state = opt.state_dict();
        Assert.Equal(new[] { "state.0.exp_avg", "state.0.exp_avg_sq" }, state.tensors.Keys.Order());
        Assert.Equal(new Dictionary<int, long> { [0] = 2 }, state.metadata.steps);
    }

    [Fact]
    public void Param_that_joins_late_counts_its_own_steps()
    {
        // Adam's bias correction uses each param's own t: b's first step must equal a's first step.
        using var scope = torch.NewDisposeScope();
        var a = Param(1f);
        var b = Param(1f);
        using var opt = torch.optim.Adam([a, b], lr: 0.1);
        SetGrad(a, 0.5f);
        opt.step();
        var afterFirst = a.item<float>();
        SetGrad(b, 0.5f);
        a.zero_grad();
        opt.step();
        Assert.Equal(afterFirst, b.item<float>());
    }

    [Fact]
    public void Zero_grad_sets_every_grad_to_none()
    {
        using var scope = torch.NewDisposeScope();
        var a = Param(1f);
        var b = Param(2f);
        using var opt = torch.optim.SGD([a, b], lr: 0.1);
        SetGrad(a, 1f);
        SetGrad(b, 1f);
        opt.zero_grad();
        Assert.Null(a.grad);
        Assert.Null(b.grad);
    }

    [Fact]
    public void Step_records_no_autograd_history()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(1f, 2f);
        using var opt = torch.optim.AdamW([p], lr: 0.1);
        (p * p).sum().backward();
        opt.step();
        Assert.True(p.is_leaf);
        Assert.True(p.requires_grad);
    }

    [Fact]
    public void Invalid_options_are_all_reported()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(1f);
        var e = Assert.Throws<ArgumentException>(() => torch.optim.SGD([p], lr: -1, dampening: 0.5, nesterov: true));
        Assert.Contains("lr=-1", e.Message);
        Assert.Contains("nesterov needs momentum > 0 and dampening = 0", e.Message);
        var adam = Assert.Throws<ArgumentException>(() => torch.optim.Adam([p], beta1: 1.0, eps: -1));
        Assert.Contains("beta1=1", adam.Message);
        Assert.Contains("eps=-1", adam.Message);
        using var opt = torch.optim.Adam([p]);
        Assert.Throws<ArgumentException>(() => opt.param_groups[0].lr = -0.1);
        Assert.Equal(1e-3, opt.param_groups[0].lr);
    }

    [Fact]
    public void A_param_in_two_groups_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(1f);
        using var opt = torch.optim.Adam([p]);
        var e = Assert.Throws<ArgumentException>(() => opt.add_param_group(new ParamGroup<AdamOptions>([p], opt.defaults)));
        Assert.Contains("already in param group 0", e.Message);
        var twice = Assert.Throws<ArgumentException>(() => torch.optim.SGD([Param(2f), p, p], lr: 0.1));
        Assert.Contains("param 2 of the new group appears in it twice", twice.Message);
    }

    [Fact]
    public void A_non_leaf_param_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(1f) * 2.0;
        var e = Assert.Throws<ArgumentException>(() => torch.optim.SGD([p], lr: 0.1));
        Assert.Contains("not a leaf", e.Message);
    }

    [Fact]
    public void Dispose_frees_the_state_tensors()
    {
        using var scope = torch.NewDisposeScope();
        var p = Param(1f, 2f);
        SetGrad(p, 1f, 1f);
        var before = Tensor.SettledLiveNativeTensors();
        var opt = torch.optim.Adam([p], amsgrad: true);
        opt.step();
        Assert.Equal(before + 3, Tensor.LiveNativeTensors); // exp_avg, exp_avg_sq, max_exp_avg_sq
        opt.Dispose();
        Assert.Equal(before, Tensor.LiveNativeTensors);
        Assert.Throws<ObjectDisposedException>(() => opt.step());
    }

    [Fact]
    public void State_outlives_the_dispose_scope_of_the_step_that_created_it()
    {
        using var outer = torch.NewDisposeScope();
        var p = Param(1f, 2f);
        using var opt = torch.optim.SGD([p], lr: 0.1, momentum: 0.9);
        using (torch.NewDisposeScope())
        {
            SetGrad(p, 1f, 1f);
            opt.step();
        }
        SetGrad(p, 1f, 1f);
        opt.step(); // would throw if the momentum buffer had been freed with the inner scope
        Assert.Equal(new[] { 1f - 0.1f - 0.19f, 2f - 0.1f - 0.19f }, p.ToArray<float>(), new FloatTolerance(1e-6f));
    }

    private sealed class FloatTolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tol;
        public int GetHashCode(float obj) => 0;
    }
}
