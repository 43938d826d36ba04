using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

/// <summary>The layer law for whole U-Nets: planned shape = forward shape, layer-tree params = the parameters' elements.</summary>
public class UNetLaws
{
    [Fact]
    public void Random_valid_unets_run_to_their_planned_shape_and_their_layer_tree_counts_their_parameters() =>
        Law.Holds(from c in UNetCases.Valid from s in Law.Seed select (Config: c, Seed: s), pair =>
        {
            var (config, seed) = pair;
            if (config.Check().Count > 0) return false;
            using var g = new Generator(seed);
            using var model = config.Build(g);
            var layers = model.Module.Flatten();
            var x = torch.randn([2, .. config.InputShape], g);
            var labels = config.NumClasses > 0 ? torch.tensor([0L, config.NumClasses]) : null;
            var metadata = config.MetadataDim > 0 ? torch.randn([2, config.MetadataDim], g) : null;
            using var dropout = config.Dropout > 0 ? new Generator(seed + 1) : null;
            var y = model.Forward(x, torch.tensor([3f, 900f]), new Conditioning(labels, metadata), dropout);
            return y.shape.SequenceEqual([2L, .. layers[0].OutputShape])
                && layers[0].OutputShape.SequenceEqual(((UNet)model).Plan.OutputShape)
                && layers[0].Params == model.Parameters.Count()
                && ((UNet)model).Plan.Module.ParameterCount == model.Parameters.Count()
                && layers[0].Macs > 0;
        }, cases: 40);

    [Fact]
    public void Random_valid_unets_validate_without_problems() =>
        Law.Holds(UNetCases.Valid, c => c.Check().Count == 0 && ModelConfig.FromJson(c.ToJson()).Equals(c), cases: 200);
}
