using Xunit;

namespace Diffusion.Torch.Tests;

/// <summary>
/// Compares autograd with central finite differences in float64. The scalar checked is
/// L = Σ f(x) ⊙ w with a fixed random w, so every output element contributes with its own weight
/// (a plain sum would hide errors that cancel, e.g. in softmax whose rows sum to 1).
/// </summary>
public static class GradCheck
{
    /// <summary>Fails with the first input element whose analytic and numeric gradients disagree.</summary>
    /// <param name="f">The op under test; called with the inputs (float64 CPU tensors).</param>
    /// <param name="inputs">Leaves to differentiate with respect to; their values are perturbed in place and restored.</param>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double h = 1e-6, double rtol = 1e-6, double atol = 1e-7, ulong seed = 1234)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var x in inputs)
        {
            Assert.Equal(ScalarType.Float64, x.dtype);
            x.requires_grad = true;
        }
        using var generator = new Generator(seed);

        var y = f(inputs);
        var w = torch.randn(y.shape, generator, ScalarType.Float64);
        (y * w).sum().backward();
        var analytic = inputs.Select(x => x.grad?.ToArray<double>() ?? throw new InvalidOperationException("an input got no gradient")).ToArray();

        using (torch.no_grad())
        {
            double Loss()
            {
                using var inner = torch.NewDisposeScope();
                return (f(inputs) * w).sum().item<double>();
            }

            for (var i = 0; i < inputs.Length; i++)
            {
                for (var k = 0; k < analytic[i].Length; k++)
                {
                    var data = inputs[i].data<double>();
                    var original = data[k];
                    data[k] = original + h;
                    var plus = Loss();
                    inputs[i].data<double>()[k] = original - h;
                    var minus = Loss();
                    inputs[i].data<double>()[k] = original;
                    var numeric = (plus - minus) / (2 * h);
                    var error = Math.Abs(analytic[i][k] - numeric);
                    Assert.True(error <= atol + rtol * Math.Abs(numeric),
                        $"input {i} element {k}: autograd {analytic[i][k]:R} vs finite difference {numeric:R} (error {error:E2})");
                }
            }
        }
    }
}
