using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

public class MlpScoreNetTests
{
    [Fact]
    public void Mlp_seed_has_the_seed_networks_37762_parameters()
    {
        using var g = new Generator(0);
        using var model = Presets.Get("mlp-seed").Build(g);
        Assert.Equal(37_762, model.Parameters.Count());
        Assert.Equal(model.Parameters.Count(), model.Module.Flatten()[0].Params);
        Assert.Equal(["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight", "net.4.bias", "net.6.weight", "net.6.bias"],
            model.Parameters.Named().Select(n => n.Name));
    }

    [Fact]
    public void Forward_maps_points_and_times_to_points()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        using var model = new MlpConfig(DataDim: 3, Hidden: 16, TimeDim: 8, Depth: 2).Build(g);
        var y = model.Forward(torch.randn([5, 3], g), torch.rand([5], g) * 999);
        Assert.Equal([5L, 3], y.shape);
    }

    [Fact]
    public void A_batch_sharing_one_time_gets_what_each_row_would_get_alone()
    {
        // One time for the whole batch takes the split first layer; a batch with one more row at another time takes the
        // concatenation. The shared rows must agree, in value and in the gradient that reaches the weights.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        using var model = Presets.Get("mlp-seed").Build(g);
        var x = torch.randn([64, 2], g);
        var shared = model.Forward(x, torch.full([64], 417.0));
        var mixed = model.Forward(torch.cat([x, torch.randn([1, 2], g)], 0), torch.cat([torch.full([64], 417.0), torch.full([1], 3.0)], 0));
        Assert.True(mixed.narrow(0, 0, 64).allclose(shared, 1e-5, 1e-5));

        var weight = model.Parameters.Named().First().Tensor;  // net.0.weight: split on one path, whole on the other
        shared.square().sum().backward();
        var viaSplit = weight.grad!.clone();
        weight.zero_grad();
        mixed.narrow(0, 0, 64).square().sum().backward();
        Assert.True(weight.grad!.allclose(viaSplit, 1e-4, 1e-4));
    }

    [Fact]
    public void Wrong_input_width_names_the_model_and_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(1);
        using var model = Presets.Get("mlp-seed").Build(g);
        var e = Assert.Throws<ShapeException>(() => model.Forward(torch.zeros(4, 3), torch.zeros(4)));
        Assert.Contains("mlp", e.Message);
        Assert.Contains("[N, 2]", e.Message);
        Assert.Contains("[4, 3]", e.Message);
    }

    [Fact]
    public void Config_round_trips_through_json_and_invalid_configs_list_every_problem()
    {
        var config = new MlpConfig(Hidden: 64, TimeDim: 16);
        Assert.Equal(config, ModelConfig.FromJson(config.ToJson()));
        Assert.Contains("\"kind\": \"mlp\"", config.ToJson());
        var e = Assert.Throws<ConfigException>(() => new MlpConfig(Hidden: 0, TimeDim: 7).Build(new Generator(0)));
        Assert.Contains("hidden", e.Message);
        Assert.Contains("dim=7", e.Message);
    }
}
