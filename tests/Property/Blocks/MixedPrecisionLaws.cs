using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Property.Tests;

/// <summary>
/// Every block type in bf16 mixed precision (<see cref="Params.In"/>) against the same block in float32, on the same
/// weights and inputs: the output, and the gradient of ⟨r, y⟩ for a random r with respect to every trainable weight and
/// to the input, within a relative L2 error (README, Precision).
/// </summary>
public class MixedPrecisionLaws(ITestOutputHelper output)
{
    /// <summary>
    /// bfloat16 keeps 8 significant bits (unit roundoff 2⁻⁹ ≈ 0.002). Each matmul-shaped op rounds its inputs and weights
    /// once, so a block's output carries a few such roundings, amplified where a norm divides by a small spread; the
    /// gradients go through every op twice more (backward's two matmuls) and through norms' backward. Measured over 120
    /// random cases: worst forward 0.006 (a MidBlock), worst gradients 0.010 (a DecoderStage); the bounds leave 3–4×.
    /// </summary>
    public const double ForwardTolerance = 0.02, GradientTolerance = 0.04;

    /// <summary>The fewest spatial positions (voxels) an input must have for the law to apply.</summary>
    public const int MinVoxels = 4;

    [Fact]
    public void Every_block_type_in_bf16_agrees_with_float32_forward_and_gradients()
    {
        var worst = new Dictionary<string, (double Forward, double Gradient)>();
        var degenerate = 0;
        Law.Holds(from c in BlockCases.Any from seed in Law.Seed select (c, seed), t =>
        {
            var (c, seed) = t;
            // An input of fewer than MinVoxels voxels leaves GroupNorm groups of a few elements, whose normalised values
            // are set by differences far below bf16's rounding of the convolution before them: no tolerance holds there,
            // in any mixed precision (3-voxel inputs measured relative gradient errors of 0.14 and 0.35, about 1 run in 12).
            if (c.Plan.InputShape.Skip(1).Aggregate(1L, (a, b) => a * b) < MinVoxels)
            {
                degenerate++;
                return true;
            }
            using var g = new Generator(seed);
            using var w = c.Init(g);
            var x = torch.randn([2, .. c.Plan.InputShape], g);
            var temb = c.TembDim > 0 ? torch.randn([2, c.TembDim], g) : null;
            var r = torch.randn([2, .. c.Plan.OutputShape], g);
            var (y32, grad32) = Run(c, w, x, temb, r);
            using var bf16 = w.In(Precision.BF16);
            var (y16, grad16) = Run(c, bf16, x, temb, r);
            var (forward, gradient) = (RelativeError(y16, y32), RelativeError(grad16, grad32));
            var before = worst.GetValueOrDefault(c.Kind);
            worst[c.Kind] = (Math.Max(before.Forward, forward), Math.Max(before.Gradient, gradient));
            if (forward > ForwardTolerance || gradient > GradientTolerance)
                throw new Xunit.Sdk.XunitException($"{c}: relative error of the forward {forward:G3} (≤ {ForwardTolerance}), of the gradients {gradient:G3} (≤ {GradientTolerance})");
            return true;
        }, 120);
        Assert.True(degenerate < 40, $"{degenerate} of 120 cases had inputs under {MinVoxels} voxels: the law checked too few");
        foreach (var (kind, (forward, gradient)) in worst.OrderBy(k => k.Key)) output.WriteLine($"{kind}: worst relative error forward {forward:G3}, gradients {gradient:G3}");
    }

    /// <summary>The block's output as float32 and every gradient (weights, then input) flattened into one vector.</summary>
    private static (Tensor Output, Tensor Gradients) Run(BlockCase c, Params w, Tensor x0, Tensor? temb, Tensor r)
    {
        var x = x0.detach().requires_grad_();
        var y = c.Forward(w, x, temb).@float();
        (y * r).sum().backward();
        var trainable = w.Trainable().ToList();
        var grads = trainable.Select(p => p.grad is { } gr ? gr.flatten() : torch.zeros_like(p).flatten()).Append(x.grad!.flatten()).ToArray();
        foreach (var p in trainable) p.zero_grad();
        return (y.detach(), torch.cat(grads).detach());
    }

    /// <summary>‖a − b‖ / ‖b‖ (0 when both vanish).</summary>
    internal static double RelativeError(Tensor a, Tensor b)
    {
        var norm = b.@double().square().sum().sqrt().item<double>();
        var diff = (a.@double() - b.@double()).square().sum().sqrt().item<double>();
        return norm == 0 ? diff : diff / norm;
    }
}
