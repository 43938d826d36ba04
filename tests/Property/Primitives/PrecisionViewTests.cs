using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Property.Tests;

/// <summary>What a <see cref="Params.In"/> view promises: float32 untouched, bf16 casts made once, gradients to the float32 masters.</summary>
public class PrecisionViewTests
{
    private static readonly LinearSpec Spec = new(16, 8);

    private static Params Init(ulong seed)
    {
        using var g = new Generator(seed);
        return Params.Init(Spec.Declare("fc").Module, g);
    }

    [Fact]
    public void A_float32_view_computes_bitwise_what_the_tree_itself_computes()
    {
        using var scope = torch.NewDisposeScope();
        using var w = Init(1);
        using var g = new Generator(2);
        var x = torch.randn([4, 16], g);
        using var view = w.In(Precision.FP32);
        Assert.Same(w["weight"], view.Compute("weight"));
        Assert.Same(x, view.ComputeInput(x));
        Assert.Equal(Linear.Forward(w, x).ToArray<float>(), Linear.Forward(view, x).ToArray<float>());
    }

    [Fact]
    public void A_bf16_view_casts_each_weight_once_and_sends_float32_gradients_to_the_masters()
    {
        using var scope = torch.NewDisposeScope();
        using var w = Init(3);
        using var g = new Generator(4);
        var x = torch.randn([4, 16], g);
        using (var view = w.In(Precision.BF16))
        {
            var weight = view.Compute("weight");
            Assert.Equal(ScalarType.BFloat16, weight.dtype);
            Assert.Same(weight, view.Compute("weight")); // the cache: one cast per view, whatever the number of uses
            Assert.Equal(ScalarType.Float32, view["weight"].dtype); // the master, by its plain name
            var y = Linear.Forward(view, x);
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            y.@float().sum().backward();
        }
        Assert.Equal(ScalarType.Float32, w["weight"].grad!.dtype);
        // d/dW Σ(xWᵀ + b) = 1ᵀx: every row of the gradient is the column sums of x, to bf16 rounding of x.
        var expected = x.sum([0]).unsqueeze(0).expand([8, 16]);
        Assert.True(MixedPrecisionLaws.RelativeError(w["weight"].grad!, expected) < 0.01);
        Assert.Equal(ScalarType.Float32, w["weight"].dtype); // the masters outlive the view
    }

    [Fact]
    public void A_norm_takes_its_statistics_of_a_bf16_activation_in_float32()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var spec = new GroupNormSpec(8, 2);
        using var w = Params.Init(spec.Declare("norm", [8, 4, 4]).Module, g);
        // A large common offset: a bf16 mean-and-variance would lose the spread to rounding; float32 statistics keep it.
        var x = (torch.randn([2, 8, 4, 4], g) + 300.0).to(ScalarType.BFloat16);
        var y = GroupNorm.Forward(spec, w, x);
        Assert.Equal(ScalarType.Float32, y.dtype);
        var groups = x.@double().reshape(2, 2, -1);                        // (N, G, C/G·H·W), exact: bf16 ⊂ float64
        var centred = groups - groups.mean([2], keepdim: true);
        var expected = (centred / (centred.square().mean([2], keepdim: true) + spec.Eps).sqrt()).reshape(2, 8, 4, 4); // γ = 1, β = 0
        var error = MixedPrecisionLaws.RelativeError(y, expected);
        Assert.True(error < 1e-4, $"relative error {error:G3} against float64 statistics"); // float32: ~1e-5; bf16 statistics: ~0.5
    }
}
