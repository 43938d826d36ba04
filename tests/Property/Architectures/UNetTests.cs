using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

public class UNetTests
{
    /// <summary>Parameters and MACs per sample; the MACs were computed independently of the layer tree (a Python tally).</summary>
    public static TheoryData<string, long, long> PresetCounts => new()
    {
        { "ddpm-cifar10", 35_746_307, 6_221_856_768 },
        { "unet28", 1_112_801, 190_039_552 },
        { "unet3d32", 715_185, 4_151_861_248 },
        { "unet3d-medical", 7_213_537, 20_619_354_368 },
        { "seed-unet", 5_953_411, 725_401_600 },
    };

    public static TheoryData<string> PresetNames => new(PresetCounts.Select(row => (string)row[0]));

    /// <summary>Conditioning a preset needs: metadata for the medical one, nothing otherwise.</summary>
    private static Conditioning? ConditioningFor(UNetConfig c, long n, Generator g) =>
        c.MetadataDim > 0 || c.NumClasses > 0
            ? new Conditioning(c.NumClasses > 0 ? torch.randint(0, c.NumClasses + 1, [n], g) : null, c.MetadataDim > 0 ? torch.randn([n, c.MetadataDim], g) : null)
            : null;

    [Theory]
    [MemberData(nameof(PresetCounts))]
    public void Preset_has_its_exact_parameter_count_and_the_layer_tree_agrees(string name, long expected, long macs)
    {
        var config = (UNetConfig)Presets.Get(name);
        var plan = config.Plan().OrThrow();
        using var g = new Generator(0);
        using var model = config.Build(g);
        Assert.Equal(expected, model.Parameters.Count());
        Assert.Equal(expected, plan.Module.ParameterCount);
        var layers = model.Module.Flatten();
        Assert.Equal(expected, layers[0].Params);
        Assert.Equal(macs, layers[0].Macs);
        Assert.Equal(layers[0].Macs, layers.Where(r => r.Depth == 1).Sum(r => r.Macs));
        Assert.Equal(model.Parameters.Named().Count(), model.Parameters.Named().Select(n => n.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void Preset_forward_at_batch_1_returns_the_planned_shape(string name)
    {
        using var scope = torch.NewDisposeScope();
        var config = (UNetConfig)Presets.Get(name);
        using var g = new Generator(1);
        using var model = config.Build(g);
        var x = torch.randn([1, .. config.InputShape], g);
        var y = model.Forward(x, torch.tensor([500f]), ConditioningFor(config, 1, g));
        Assert.Equal([1L, .. model.Module.Flatten()[0].OutputShape], y.shape);
        Assert.Equal(x.shape, y.shape);
    }

    [Fact]
    public void Ddpm_cifar10_names_its_parameters_as_diffusers()
    {
        using var g = new Generator(0);
        using var model = Presets.Get("ddpm-cifar10").Build(g);
        var names = model.Parameters.Named().Select(n => n.Name).ToHashSet();
        string[] expected =
        [
            "conv_in.weight", "time_embedding.linear_1.weight", "time_embedding.linear_2.bias",
            "down_blocks.0.resnets.0.conv1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight", "down_blocks.0.downsamplers.0.conv.weight",
            "down_blocks.1.resnets.0.conv_shortcut.weight", "down_blocks.1.attentions.1.to_q.weight", "down_blocks.1.attentions.0.to_out.0.bias",
            "mid_block.resnets.0.norm1.weight", "mid_block.attentions.0.group_norm.bias", "mid_block.resnets.1.conv2.weight",
            "up_blocks.0.resnets.2.conv_shortcut.weight", "up_blocks.2.attentions.2.to_v.weight", "up_blocks.2.upsamplers.0.conv.weight",
            "up_blocks.3.resnets.2.conv1.weight", "conv_norm_out.weight", "conv_out.bias",
        ];
        Assert.All(expected, n => Assert.Contains(n, names));
        Assert.DoesNotContain("down_blocks.3.downsamplers.0.conv.weight", names);
        Assert.DoesNotContain("up_blocks.3.upsamplers.0.conv.weight", names);
    }

    [Fact]
    public void Every_preset_config_round_trips_through_json()
    {
        foreach (var name in Presets.Names)
        {
            var config = Presets.Get(name);
            var back = ModelConfig.FromJson(config.ToJson());
            Assert.Equal(config, back);
            Assert.Equal(config.ToJson(), back.ToJson());
        }
        Assert.Contains("\"kind\": \"unet\"", Presets.Get("unet28").ToJson());
        Assert.NotEqual(Presets.Get("unet28"), (UNetConfig)Presets.Get("unet28") with { ChannelMult = [1, 2, 4] });
    }

    [Fact]
    public void The_null_class_is_the_unconditional_model_and_labels_change_the_output()
    {
        using var scope = torch.NewDisposeScope();
        var config = new UNetConfig
        {
            InChannels = 1, Size = [8, 8], Channels = 8, ChannelMult = [1, 2], NumResBlocks = 1, AttentionResolutions = [4],
            NormGroups = 4, Dropout = 0, NumClasses = 3,
        };
        using var g = new Generator(2);
        using var model = config.Build(g);
        Assert.Equal([4L, 32], ((UNet)model).Parameters.Named().Single(n => n.Name == "class_embedding.weight").Tensor.shape);
        var x = torch.randn([2, 1, 8, 8], g);
        var t = torch.tensor([10f, 700f]);
        var unconditional = model.Forward(x, t);
        var nullClass = model.Forward(x, t, new Conditioning(torch.tensor([3L, 3L])));
        var labelled = model.Forward(x, t, new Conditioning(torch.tensor([0L, 2L])));
        Assert.Equal(0, Law.Max(unconditional - nullClass));
        Assert.True(Law.Max(unconditional - labelled) > 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(x, t, new Conditioning(torch.tensor([0L, 4L]))));
        Assert.Throws<ArgumentException>(() => model.Forward(x, t, new Conditioning(Metadata: torch.zeros(2, 2))));
    }

    [Fact]
    public void Metadata_is_required_and_conditions_the_output()
    {
        using var scope = torch.NewDisposeScope();
        var config = (UNetConfig)Presets.Get("unet3d-medical") with { Size = [8, 8, 8], Channels = 8, ChannelMult = [1, 2], AttentionResolutions = [4] };
        using var g = new Generator(3);
        using var model = config.Build(g);
        var x = torch.randn([2, 1, 8, 8, 8], g);
        var t = torch.tensor([1f, 2f]);
        var a = model.Forward(x, t, new Conditioning(Metadata: torch.tensor(new float[,] { { 60, 0 }, { 60, 0 } })));
        var b = model.Forward(x, t, new Conditioning(Metadata: torch.tensor(new float[,] { { 30, 1 }, { 60, 0 } })));
        Assert.True(Law.Max(a[0] - b[0]) > 1e-6);
        Assert.Equal(0, Law.Max(a[1] - b[1]));
        Assert.Throws<ArgumentNullException>(() => model.Forward(x, t));
        Assert.Throws<ShapeException>(() => model.Forward(x, t, new Conditioning(Metadata: torch.zeros(2, 3))));
    }

    [Fact]
    public void An_invalid_config_lists_every_problem_with_its_path()
    {
        var config = new UNetConfig
        {
            Size = [28, 28], Channels = 48, ChannelMult = [1, 2, 2], NumResBlocks = 1, AttentionResolutions = [7, 5],
            NormGroups = 32, Dropout = 1.5, AttentionHeads = 5, NormEps = 0,
        };
        var problems = config.Check();
        Assert.Contains(problems, p => p.StartsWith("unet.attention_resolutions[1]: 5 matches no level", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("unet.down_blocks.0.resnets.0: groups=32 does not divide out_channels=48", StringComparison.Ordinal));
        Assert.Contains("unet.up_blocks.2.resnets.0: groups=32 does not divide in_channels=144", problems); // concat(96, 48)
        Assert.DoesNotContain(problems, p => p.Contains("in_channels=192", StringComparison.Ordinal)); // concat(96, 96) is divisible
        Assert.Contains(problems, p => p.StartsWith("unet.mid_block.attentions.0: heads=5 does not divide dim=96", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("unet.conv_norm_out: groups=32 does not divide channels=48", StringComparison.Ordinal));
        Assert.Contains("unet: dropout=1.5 must lie in [0, 1)", problems);
        Assert.Contains("unet: norm_eps=0 must be positive", problems);
        Assert.Equal(problems.Count, problems.Distinct().Count());
        var e = Assert.Throws<ConfigException>(() => config.Build(new Generator(0)));
        Assert.Equal(problems, e.Problems);

        var halving = new UNetConfig { Size = [28, 20], ChannelMult = [1, 2, 2, 2] }.Check().ToArray();
        Assert.Equal<string>(["unet.size: 28×20 cannot be halved 3 time(s), once per downsampling level (4 levels): every dim must be a multiple of 8, but 28, 20 is not",
            "unet.attention_resolutions[0]: 16 matches no level (level resolutions: 28, 14, 7, 3)"], halving);

        var skeleton = new UNetConfig { Channels = 0, ChannelMult = [1, 0], Size = [32], NumResBlocks = 0, MetadataDim = -1 }.Check().ToArray();
        Assert.Equal<string>(["unet: channels=0 must be positive", "unet: channel_mult[1]=0 must be positive", "unet: num_res_blocks=0 must be positive",
            "unet.size: spatial rank=1 must be 2 (H, W) or 3 (D, H, W)", "unet: metadata_dim=-1 must be ≥ 0 (0: no metadata)"], skeleton);
    }

    [Fact]
    public void Additive_skips_are_well_typed_because_the_upsampler_maps_channels()
    {
        var plan = ((UNetConfig)Presets.Get("seed-unet")).Plan().OrThrow();
        Assert.Equal([SkipMode.Add, SkipMode.Add, SkipMode.Add], plan.Up.Select(u => u.Config.Mode).ToArray());
        Assert.Equal([256L, 8, 8], plan.Mid.OutputShape);
        Assert.Equal([128L, 16, 16], plan.Up[0].OutputShape); // 4·base at 8×8 → 2·base at 16×16, ready for e2
        Assert.Equal([64L, 32, 32], plan.Up[1].OutputShape);
        Assert.Equal([64L, 32, 32], plan.Up[2].OutputShape);
        Assert.All(plan.Down, d => Assert.Equal(DownsampleKind.AvgPool, d.Config.DownKind));
    }

    [Fact]
    public void Layer_rows_count_conv_macs_as_positions_times_channels_times_kernel_volume()
    {
        var layers = ((UNetConfig)Presets.Get("ddpm-cifar10")).Plan().OrThrow().Module.Flatten(); // from the plan: no weights
        var convIn = layers.Single(r => r.Path == "conv_in");
        Assert.Equal(32L * 32 * 128 * 3 * 9, convIn.Macs);
        Assert.Equal([128L, 32, 32], convIn.OutputShape);
        var down = layers.Single(r => r.Path == "down_blocks.0.downsamplers.0");
        Assert.Equal(16L * 16 * 128 * 128 * 9, down.Macs);
        var attn = layers.Single(r => r.Path == "down_blocks.1.attentions.0");
        Assert.Equal(4L * 256 * 256 * 256 + 2L * 256 * 256 * 256, attn.Macs); // 4·L·C² + 2·L²·C with L = 16², C = 256
        var leaves = layers.Where(r => r.Depth > 0 && !layers.Any(c => c.Path.StartsWith(r.Path + ".", StringComparison.Ordinal))).ToList();
        Assert.Equal(layers[0].Params, leaves.Sum(r => r.Params));
        Assert.Equal(layers[0].Macs, leaves.Sum(r => r.Macs));
    }
}
