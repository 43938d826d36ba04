using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests.Architectures;

public class DiTTests
{
    /// <summary>
    /// sum(p.numel() for p in DiT_models[name]().parameters()) — pos_embed included, as facebookresearch/DiT's
    /// train.py logs it (XL/2: 675,129,632); the trainable count leaves out pos_embed's T·D.
    /// </summary>
    public static TheoryData<string, long, long> Counts => new()
    {
        { "dit-s-2", 32_963_360, 256 * 384 }, { "dit-s-4", 32_945_024, 64 * 384 }, { "dit-s-8", 33_148_160, 16 * 384 },
        { "dit-b-2", 130_512_416, 256 * 768 }, { "dit-b-4", 130_475_648, 64 * 768 }, { "dit-b-8", 130_881_536, 16 * 768 },
        { "dit-l-2", 458_102_816, 256 * 1024 }, { "dit-l-4", 458_053_760, 64 * 1024 }, { "dit-l-8", 458_594_816, 16 * 1024 },
        { "dit-xl-2", 675_129_632, 256 * 1152 }, { "dit-xl-4", 675_074_432, 64 * 1152 }, { "dit-xl-8", 675_683_072, 16 * 1152 },
        { "dit28", 4_174_864, 49 * 192 },
    };

    [Theory, MemberData(nameof(Counts))]
    public void Presets_have_the_official_parameter_counts_without_allocating(string name, long total, long frozen)
    {
        var s = ModelSummary.Of(Presets.Get(name));
        Assert.Equal(total, s.TotalParams);
        Assert.Equal(total - frozen, s.TrainableParams);
    }

    [Fact]
    public void Published_gflops_are_the_planned_macs()
    {
        // DiT's table 4 (Gflops, fvcore counting one multiply-add as one flop): XL/2 118.6, XL/4 29.1, XL/8 7.39, S/2 6.06, B/2 23.01.
        Assert.Equal(118_621_421_568, ModelSummary.Of(Presets.Get("dit-xl-2")).Macs);
        Assert.Equal(29.04, ModelSummary.Of(Presets.Get("dit-xl-4")).Macs / 1e9, 2);
        Assert.Equal(7.39, ModelSummary.Of(Presets.Get("dit-xl-8")).Macs / 1e9, 2);
        Assert.Equal(6.06, ModelSummary.Of(Presets.Get("dit-s-2")).Macs / 1e9, 2);
        Assert.Equal(23.01, ModelSummary.Of(Presets.Get("dit-b-2")).Macs / 1e9, 2);
    }

    [Fact]
    public void Dit28_builds_with_official_names_and_a_fresh_model_outputs_exactly_zero()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(0);
        using var model = Presets.Get("dit28").Build(g);
        Assert.Equal(4_174_864, model.Parameters.Count());
        var names = model.Parameters.Named().Select(n => n.Name).ToList();
        Assert.Equal(["pos_embed", "x_embedder.proj.weight", "x_embedder.proj.bias", "t_embedder.mlp.0.weight", "t_embedder.mlp.0.bias",
            "t_embedder.mlp.2.weight", "t_embedder.mlp.2.bias", "blocks.0.attn.qkv.weight"], names.Take(8));
        Assert.Contains("blocks.5.adaLN_modulation.1.weight", names);
        Assert.Equal(["final_layer.linear.weight", "final_layer.linear.bias", "final_layer.adaLN_modulation.1.weight", "final_layer.adaLN_modulation.1.bias"],
            names.TakeLast(4));
        Assert.False(model.Parameters.Named().First().Tensor.requires_grad); // pos_embed is frozen
        Assert.True(model.Parameters.Named().Skip(1).All(n => n.Tensor.requires_grad));
        var y = model.Forward(torch.randn([1, 1, 28, 28], g), torch.tensor(new[] { 500f }));
        Assert.Equal([1L, 1, 28, 28], y.shape);
        Assert.Equal(0.0, Law.Max(y)); // adaLN-Zero: the final layer starts at zero
    }

    [Fact]
    public void Pos_embed_is_the_mae_sin_cos_table()
    {
        // Token (i=1, j=2) of a 3×3 grid with D = 8: q = 2 frequencies ω = (1, 1/100).
        var e = PosEmbed.SinCos2D(8, 3).Skip((1 * 3 + 2) * 8).Take(8).ToArray();
        double[] expected = [Math.Sin(2), Math.Sin(0.02), Math.Cos(2), Math.Cos(0.02), Math.Sin(1), Math.Sin(0.01), Math.Cos(1), Math.Cos(0.01)];
        Assert.Equal(expected, e.Select(v => (double)v), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Class_labels_select_rows_and_missing_labels_use_the_null_class()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        using var model = (DiT)new DiTConfig(InputSize: 8, PatchSize: 2, InChannels: 2, HiddenSize: 16, Depth: 1, NumHeads: 2, NumClasses: 5).Build(g);
        Assert.Equal(6 * 16, model.Parameters.Named().Single(n => n.Name == "y_embedder.embedding_table.weight").Tensor.numel());
        var x = torch.randn([3, 2, 8, 8], g);
        var t = torch.tensor(new[] { 1f, 10f, 100f });
        Assert.Equal([3L, 4, 8, 8], model.Forward(x, t, new Conditioning(torch.tensor(new long[] { 0, 4, 5 }))).shape);
        Assert.Equal([3L, 4, 8, 8], model.Forward(x, t, dropout: g).shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(x, t, new Conditioning(torch.tensor(new long[] { 0, 6, 1 }))));
        Assert.Throws<ShapeException>(() => model.Forward(torch.zeros(3, 2, 8, 7), t));
    }

    [Fact]
    public void Invalid_configs_report_every_problem_with_its_path()
    {
        var problems = new DiTConfig(InputSize: 30, PatchSize: 4, HiddenSize: 130, NumHeads: 3, Depth: 0, ClassDropoutProb: 1.5).Check();
        Assert.Contains("dit.x_embedder: patch_size=4 does not divide spatial size 30", problems);
        Assert.Contains("dit.blocks: heads=3 does not divide dim=130", problems);
        Assert.Contains("dit.pos_embed: hidden_size=130 must be divisible by 4 (2-D sine-cosine embedding)", problems);
        Assert.Contains("dit: depth=0 must be positive", problems);
        Assert.Contains("dit.y_embedder: class_dropout_prob=1.5 must be in [0, 1)", problems);
        var e = Assert.Throws<ConfigException>(() => ModelSummary.Of(new DiTConfig(HiddenSize: 130, NumHeads: 3)));
        Assert.Equal(2, e.Problems.Count);
    }

    [Fact]
    public void Validation_never_throws() =>
        Law.Holds(from size in Gen.Choose(-3, 40) from patch in Gen.Choose(-1, 8) from hidden in Gen.Choose(-3, 40) from heads in Gen.Choose(-1, 4)
            select (size, patch, hidden, heads), v =>
        {
            var (size, patch, hidden, heads) = v;
            var problems = new DiTConfig(size, patch, 3, hidden, Depth: 2, NumHeads: heads).Check();
            return (problems.Count == 0) == (size > 0 && patch > 0 && size % patch == 0 && hidden > 0 && heads > 0 && hidden % heads == 0 && hidden % 4 == 0);
        }, 500);

    [Fact]
    public void Config_round_trips_through_json()
    {
        var config = new DiTConfig(InputSize: 16, NumClasses: 10, LearnSigma: false, MlpRatio: 2.5);
        var json = config.ToJson();
        Assert.Contains("\"kind\": \"dit\"", json);
        Assert.Contains("\"class_dropout_prob\": 0.1", json);
        Assert.Equal(config, ModelConfig.FromJson(json));
    }

    public static Gen<DiTConfig> SmallConfigs =>
        from patch in Gen.Elements(1, 2, 4)
        from grid in Gen.Choose(1, 3)
        from inCh in Gen.Choose(1, 3)
        from heads in Gen.Choose(1, 2)
        from headDim in Gen.Elements(4, 8)
        from depth in Gen.Choose(1, 2)
        from classes in Gen.Elements(0, 3)
        from drop in Gen.Elements(0.0, 0.1)
        from sigma in Gen.Elements(true, false)
        select new DiTConfig(patch * grid, patch, inCh, heads * headDim, depth, heads, 2.0, drop, classes, sigma, 16);

    [Fact]
    public void Random_small_configs_obey_the_layer_law()
    {
        using var g = new Generator(11);
        Law.Holds(SmallConfigs, c =>
        {
            using var model = (DiT)c.Build(g);
            var labels = c.NumClasses > 0 ? new Conditioning(torch.tensor(new long[] { 0, c.NumClasses - 1 })) : null;
            var y = model.Forward(torch.randn([2, .. c.InputShape], g), torch.tensor(new[] { 3f, 700f }), labels);
            var s = ModelSummary.Of(model, [2, .. c.InputShape]);
            var trainable = model.Parameters.Named().Where(n => n.Tensor.requires_grad).Sum(n => n.Tensor.numel());
            return y.shape.SequenceEqual(s.Layers[0].OutputShape) && s.TotalParams == model.Parameters.Count()
                && s.TrainableParams == trainable && s.ToText() == ModelSummary.Of(c, [2, .. c.InputShape]).ToText() && Law.Max(y) == 0;
        }, 25);
    }

    [Fact]
    public void Summary_rows_agree_with_running_the_blocks()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(5);
        var config = new DiTConfig(InputSize: 8, PatchSize: 2, InChannels: 3, HiddenSize: 32, Depth: 2, NumHeads: 4, NumClasses: 0);
        using var model = (DiT)config.Build(g);
        var (p, w) = (model.Plan, model.Parameters);
        var rows = ModelSummary.Of(model, [2, 3, 8, 8]).Layers.ToDictionary(r => r.Path, r => r.OutputShape);
        var x = PatchEmbed.Forward(p.XEmbedder, w[p.XEmbedder], torch.randn([2, 3, 8, 8], g));
        Assert.Equal(rows["x_embedder"], x.shape);
        var c = torch.randn([2, 32], g);
        var b = DiTBlock.Forward(p.Blocks[0], w[p.Blocks[0]], x, c);
        Assert.Equal(rows["blocks.0"], b.shape);
        Assert.Equal(rows["final_layer"], FinalLayer.Forward(p.Final, w[p.Final], b, c).shape);
    }
}
