using Diffusion.Architectures;
using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

public class UViTTests
{
    [Fact]
    public void Uvit_small_is_the_cifar10_config_with_44255328_parameters_and_keeps_the_image_shape()
    {
        // configs/cifar10_uvit.py: img 32, patch 2, embed 512, depth 12 (6 in + mid + 6 out = 13 blocks), 8 heads, no qkv bias.
        Assert.Equal(44_255_328, ModelSummary.Of(Presets.Get("uvit-small")).TotalParams);
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(0);
        using var model = Presets.Get("uvit-small").Build(g);
        Assert.Equal(44_255_328, model.Parameters.Count());
        var names = model.Parameters.Named().Select(n => n.Name).ToList();
        Assert.Equal(["pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "in_blocks.0.norm1.weight", "in_blocks.0.norm1.bias",
            "in_blocks.0.attn.qkv.weight", "in_blocks.0.attn.proj.weight"], names.Take(7));
        Assert.Contains("mid_block.mlp.fc2.bias", names);
        Assert.Contains("out_blocks.5.skip_linear.weight", names);
        Assert.Equal(["norm.weight", "norm.bias", "decoder_pred.weight", "decoder_pred.bias", "final_layer.weight", "final_layer.bias"], names.TakeLast(6));
        Assert.Equal([1L, 257, 512], model.Parameters.Named().First().Tensor.shape);
        using var noGrad = torch.no_grad();
        var y = model.Forward(torch.randn([1, 3, 32, 32], g), torch.tensor(new[] { 0.5f })); // 12.2 GMACs
        Assert.Equal([1L, 3, 32, 32], y.shape);
        Assert.True(y.isfinite().all().item<bool>());
    }

    [Fact]
    public void Invalid_configs_report_every_problem_with_its_path()
    {
        var problems = new UViTConfig(ImgSize: 30, PatchSize: 4, EmbedDim: 130, NumHeads: 3, Depth: 3, NumClasses: -1).Check();
        Assert.Contains("uvit.patch_embed: patch_size=4 does not divide spatial size 30", problems);
        Assert.Contains("uvit.blocks: heads=3 does not divide dim=130", problems);
        Assert.Contains("uvit: depth=3 must be even and ≥ 0 (depth/2 in-blocks, a mid-block, depth/2 out-blocks)", problems);
        Assert.Contains("uvit.label_emb: num_classes=-1 must be ≥ 0 (0: unconditional)", problems);
        Assert.Equal(4, problems.Count);
    }

    [Fact]
    public void Config_round_trips_through_json()
    {
        var config = new UViTConfig(NumClasses: 1001, MlpTimeEmbed: true, Conv: false);
        Assert.Contains("\"kind\": \"uvit\"", config.ToJson());
        Assert.Contains("\"mlp_time_embed\": true", config.ToJson());
        Assert.Equal(config, ModelConfig.FromJson(config.ToJson()));
    }

    public static Gen<UViTConfig> SmallConfigs =>
        from patch in Gen.Elements(1, 2)
        from grid in Gen.Choose(1, 3)
        from inCh in Gen.Choose(1, 3)
        from heads in Gen.Choose(1, 2)
        from headDim in Gen.Elements(4, 8)
        from depth in Gen.Elements(0, 2, 4)
        from classes in Gen.Elements(0, 3)
        from flags in Gen.Choose(0, 15)
        select new UViTConfig(patch * grid, patch, inCh, heads * headDim, depth, heads, 2.0, (flags & 1) != 0, (flags & 2) != 0, classes,
            (flags & 4) != 0, (flags & 8) != 0);

    [Fact]
    public void Random_small_configs_obey_the_layer_law()
    {
        using var g = new Generator(12);
        Law.Holds(SmallConfigs, c =>
        {
            using var model = c.Build(g);
            var labels = c.NumClasses > 0 ? new Conditioning(torch.tensor(new long[] { 0, c.NumClasses - 1 })) : null;
            var y = model.Forward(torch.randn([2, .. c.InputShape], g), torch.tensor(new[] { 3f, 700f }), labels);
            var s = ModelSummary.Of(model, [2, .. c.InputShape]);
            return y.shape.SequenceEqual(s.Layers[0].OutputShape) && y.shape.Skip(1).SequenceEqual(c.InputShape)
                && s.TotalParams == model.Parameters.Count() && s.TrainableParams == s.TotalParams
                && s.ToText() == ModelSummary.Of(c, [2, .. c.InputShape]).ToText();
        }, 25);
    }

    [Fact]
    public void Long_skips_reach_the_output()
    {
        // skip_linear sees concat(x, skip): zeroing the columns that read the skip changes the output only if the
        // forward really feeds the in-block's output there.
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(4);
        using var model = new UViTConfig(ImgSize: 4, PatchSize: 2, InChans: 1, EmbedDim: 8, Depth: 2, NumHeads: 2).Build(g);
        var x = torch.randn([1, 1, 4, 4], g);
        var t = torch.tensor(new[] { 10f });
        var before = model.Forward(x, t);
        using (torch.no_grad()) model.Parameters.Named().Single(n => n.Name == "out_blocks.0.skip_linear.weight").Tensor.mul_(0);
        Assert.False(before.allclose(model.Forward(x, t), 1e-5, 1e-6));
        Assert.Throws<ArgumentException>(() => model.Forward(x, t, new Conditioning(torch.tensor(new long[] { 0 }))));
    }
}
