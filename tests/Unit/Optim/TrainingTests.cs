using Xunit;

namespace Diffusion.Torch.Tests.Optim;

/// <summary>Optimizers in a training loop: convergence and flat native memory.</summary>
public class TrainingTests
{
    [Fact]
    public void Adam_minimises_a_quadratic()
    {
        using var scope = torch.NewDisposeScope();
        var target = torch.tensor(3f, -2f, 0.5f, 10f);
        var p = torch.zeros(4).requires_grad_();
        using var opt = torch.optim.Adam([p], lr: 0.1);
        for (var k = 0; k < 1000; k++)
        {
            using var step = torch.NewDisposeScope();
            opt.zero_grad();
            (p - target).pow(2).sum().backward();
            opt.step();
        }
        Assert.True(p.allclose(target, rtol: 0, atol: 1e-3), p.ToString(4));
    }

    [Fact]
    public void Two_thousand_adam_steps_keep_live_tensors_flat()
    {
        using var scope = torch.NewDisposeScope();
        var g = torch.manual_seed(0);
        Tensor[] ps = [torch.randn([8, 16], g).requires_grad_(), torch.zeros(16).requires_grad_(), torch.randn([16, 1], g).requires_grad_()];
        var x = torch.randn([32, 8], g);
        var y = x.sum(1, keepdim: true).sin();
        using var opt = torch.optim.Adam(ps, lr: 1e-2, amsgrad: true);

        float Step()
        {
            using var step = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = ((x.matmul(ps[0]) + ps[1]).tanh().matmul(ps[2]) - y).pow(2).mean();
            loss.backward();
            using (var grad = ps[0].grad!) Assert.Equal(ps[0].shape, grad.shape); // a read handle, disposed
            opt.step();
            return loss.item<float>();
        }

        var first = Step(); // creates the optimizer state
        var live = Tensor.SettledLiveNativeTensors();
        var last = first;
        for (var k = 0; k < 2000; k++) last = Step();
        Assert.Equal(live, Tensor.LiveNativeTensors);
        Assert.True(last < first / 10, $"loss {first} → {last}");
    }
}
