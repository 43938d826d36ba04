using System.CommandLine;
using System.Diagnostics;
using Diffusion.Torch;
using Spectre.Console;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Cli.Commands;

/// <summary>
/// <c>diffusion demo</c>: the README's main job. Until training lands it checks the engine end to end:
/// engine facts, then a few hundred plain gradient-descent steps fitting a line, with memory held flat by a scope.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run the main job (engine facts and a small training computation)");
        command.SetAction(_ => Run());
        return command;
    }

    private static int Run()
    {
        foreach (var (key, value) in InfoCommand.Facts()) AnsiConsole.MarkupLine($"[bold]{key}[/]: {Markup.Escape(value)}");

        // Fit y = 3x − 1 by gradient descent on mean-squared error.
        using var gen = torch.manual_seed(0);
        var x = torch.linspace(-1, 1, 256).unsqueeze(1).DetachFromDisposeScope();
        var y = (x * 3.0 - 1.0).DetachFromDisposeScope();
        var w = torch.zeros(1, 1).requires_grad_();
        var b = torch.zeros(1).requires_grad_();
        var clock = Stopwatch.StartNew();
        double loss = 0;
        for (var step = 0; step < 500; step++)
        {
            using var scope = torch.NewDisposeScope();
            var l = F.mse_loss(F.linear(x, w, b), y);
            l.backward();
            using (torch.no_grad())
            {
                w.add_(w.grad!, -0.1);
                b.add_(b.grad!, -0.1);
            }
            w.zero_grad();
            b.zero_grad();
            loss = l.item<double>();
        }
        AnsiConsole.MarkupLine($"fitted y = {w.item<float>():F4}·x + {b.item<float>():F4} (target 3·x − 1), loss {loss:E2}, {clock.ElapsedMilliseconds} ms, {Tensor.LiveNativeTensors} live tensors");
        return Math.Abs(w.item<float>() - 3) < 1e-3 ? 0 : 1;
    }
}
