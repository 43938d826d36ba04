using Xunit;

namespace Diffusion.Torch.Tests.Ops;

/// <summary>requires_grad, backward, grad, zero_grad, detach and grad-mode scopes.</summary>
public class AutogradTests
{
    [Fact]
    public void New_tensors_do_not_require_grad_and_are_leaves()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(2);
        Assert.False(x.requires_grad);
        Assert.True(x.is_leaf);
        Assert.Null(x.grad);
    }

    [Fact]
    public void Backward_of_sum_of_squares_gives_two_x()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, -2.0, 3.0).requires_grad_();
        var y = (x * x).sum();
        Assert.True(y.requires_grad);
        Assert.False(y.is_leaf);
        y.backward();
        Assert.Equal(new[] { 2.0, -4, 6 }, x.grad!.ToArray<double>());
    }

    [Fact]
    public void Gradients_accumulate_until_zero_grad()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        (x * 3).sum().backward();
        (x * 3).sum().backward();
        Assert.Equal(new[] { 6.0, 6 }, x.grad!.ToArray<double>());
        x.zero_grad();
        Assert.Null(x.grad);
        (x * x).sum().backward();
        Assert.Equal(new[] { 2.0, 4 }, x.grad!.ToArray<double>());
    }

    [Fact]
    public void Backward_of_a_non_scalar_takes_the_upstream_gradient()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(1.0, 2.0).requires_grad_();
        (x * x).backward(torch.tensor(10.0, 100.0));
        Assert.Equal(new[] { 20.0, 400 }, x.grad!.ToArray<double>());
        var ex = Assert.Throws<TorchException>(() => (x * x).backward());
        Assert.Contains("backward", ex.Message);
    }

    [Fact]
    public void Retain_graph_allows_a_second_backward()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(3.0).requires_grad_();
        var y = x * x;
        y.backward(retainGraph: true);
        y.backward();
        Assert.Equal(12.0, x.grad!.item<double>());
        var z = x * x;
        z.backward();
        Assert.Throws<TorchException>(() => z.backward());
    }

    [Fact]
    public void Detach_cuts_the_graph_but_shares_values()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(2.0).requires_grad_();
        var d = x.detach();
        Assert.False(d.requires_grad);
        var y = x * d; // d is a constant: dy/dx = d
        y.backward();
        Assert.Equal(2.0, x.grad!.item<double>());
        using (torch.no_grad()) x.mul_(5);
        Assert.Equal(10.0, d.item<double>());
    }

    [Fact]
    public void No_grad_results_do_not_require_grad()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(2).requires_grad_();
        Tensor y;
        using (torch.no_grad()) y = x * 2;
        Assert.False(y.requires_grad);
        Assert.True((x * 2).requires_grad);
    }

    [Fact]
    public void Nested_grad_mode_scopes_restore_the_previous_mode()
    {
        Assert.True(torch.is_grad_enabled());
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            using (torch.no_grad()) Assert.False(torch.is_grad_enabled());
            Assert.False(torch.is_grad_enabled());
            using (torch.enable_grad()) Assert.True(torch.is_grad_enabled());
            Assert.False(torch.is_grad_enabled());
        }
        Assert.True(torch.is_grad_enabled());
    }

    [Fact]
    public void Grad_can_be_set_and_read_back()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros(2).requires_grad_();
        x.grad = torch.tensor(1f, 2f);
        Assert.Equal(new[] { 1f, 2f }, x.grad!.ToArray<float>());
    }

    [Fact]
    public void Integer_tensors_cannot_require_grad()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.arange(3).requires_grad_());
        Assert.Contains("floating point", ex.Message);
    }
}
