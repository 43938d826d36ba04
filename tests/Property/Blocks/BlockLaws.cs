using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests;

public class BlockLaws
{
    private static Tensor Input(IBlockPlan p, int n, Generator g) => torch.randn([n, .. p.InputShape], g);

    private static Tensor? Temb(int dim, int n, Generator g) => dim > 0 ? torch.randn([n, dim], g) : null;

    /// <summary>A state_dict name: at least a child and a tensor, dot-separated identifiers or indices (<c>resnets.0.conv1.weight</c>).</summary>
    private static readonly System.Text.RegularExpressions.Regex Dotted = new(@"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$");

    /// <summary>
    /// The layer law, once for every block type: the forward's shape is the planned shape, the parameter count is the
    /// planned count, the summary's rows add up to it, and parameter names are unique dotted paths.
    /// </summary>
    [Fact]
    public void Layer_law_forward_agrees_with_the_plan_for_every_block_type()
    {
        Law.Holds(from c in BlockCases.Any from n in Gen.Choose(1, 2) from seed in Law.Seed select (c, n, seed), t =>
        {
            var (c, n, seed) = t;
            using var g = new Generator(seed);
            using var w = c.Init(g);
            var y = c.Forward(w, Input(c.Plan, n, g), Temb(c.TembDim, n, g));
            var names = w.Named().Select(p => p.Name).ToList();
            var rows = c.Plan.Module.Flatten();
            return y.shape.SequenceEqual([n, .. c.Plan.OutputShape]) && w.Count() == c.Plan.Module.ParameterCount
                && rows[0].Params == rows.Where(r => r.Depth == 1).Sum(r => r.Params) && rows[0].OutputShape.SequenceEqual(c.Plan.OutputShape)
                && names.Distinct().Count() == names.Count && names.All(Dotted.IsMatch);
        }, 200);
    }

    [Fact]
    public void Down_then_up_restores_the_shape()
    {
        Law.Holds(from ch in BlockCases.Channels from s in BlockCases.Size()
                  from dk in Gen.Elements(DownsampleKind.StridedConv, DownsampleKind.AvgPool) from uk in Gen.Elements(UpsampleKind.NearestConv, UpsampleKind.TransposedConv)
                  select (ch, s, dk, uk), t =>
        {
            var down = BlockCases.Down(new DownsampleConfig(t.ch, 2 * t.ch, t.s, t.dk));
            var up = BlockCases.Up(new UpsampleConfig(2 * t.ch, t.ch, t.s.Map(d => d / 2), t.uk));
            using var g = new Generator(1);
            using var wd = down.Init(g);
            using var wu = up.Init(g);
            var x = Input(down.Plan, 2, g);
            return up.Forward(wu, down.Forward(wd, x, null), null).shape.SequenceEqual(x.shape) && up.Plan.OutputShape.SequenceEqual(down.Plan.InputShape);
        }, 200);
    }

    [Fact]
    public void ResBlock_output_depends_on_the_time_embedding()
    {
        // Excludes the degenerate case the plan flags (TembErasedByNorm); a separate test shows it is real.
        Law.Holds(from c in BlockCases.ResConfigs.Where(c => c.TembDim > 0 && !c.Opt.ZeroInitLastConv && !ResBlock.Plan(c).OrThrow().TembErasedByNorm)
                  from seed in Law.Seed select (c, seed), t =>
        {
            var b = BlockCases.Res(t.c);
            using var g = new Generator(t.seed);
            using var w = b.Init(g);
            var x = Input(b.Plan, 2, g);
            var y1 = b.Forward(w, x, Temb(t.c.TembDim, 2, g));
            var y2 = b.Forward(w, x, Temb(t.c.TembDim, 2, g));
            return Law.Max(y1 - y2) > 1e-4;
        }, 200);
    }

    [Fact]
    public void ResBlock_with_zero_initialised_last_conv_returns_its_skip_path()
    {
        Law.Holds(from c in BlockCases.ResConfigs from seed in Law.Seed select (c: c with { Options = c.Opt with { ZeroInitLastConv = true, PreActivation = true } }, seed), t =>
        {
            var p = ResBlock.Plan(t.c).OrThrow();
            using var g = new Generator(t.seed);
            using var w = Params.Init(p.Module, g);
            var x = Input(p, 2, g);
            var y = ResBlock.Forward(p, w, x, Temb(t.c.TembDim, 2, g));
            var skip = p.Shortcut is null ? x : p.Shortcut.Forward(w, x);
            if (t.c.Opt.ScaleOutputBySqrt2) skip = skip / Math.Sqrt(2);
            return t.c.Opt.ScaleOutputBySqrt2 ? y.allclose(skip, 0, 1e-6) : y.equal(skip);
        }, 200);
    }

    [Fact]
    public void Validation_never_throws_and_rejects_what_torch_would_reject()
    {
        var anyInt = Gen.Choose(-4, 70);
        Law.Holds(from i in anyInt from o in anyInt from h in Gen.Choose(-2, 9) from w in Gen.Choose(-2, 9) from g in Gen.Elements<int?>(null, 0, 3, 8, 32)
                  from heads in Gen.Choose(0, 5) select (i, o, s: new Spatial(h, w), g, heads), t =>
        {
            var res = ResBlock.Plan(new ResBlockConfig(t.i, t.o, t.s, 8, new ResOptions(t.g)));
            var down = Downsample.Plan(new DownsampleConfig(t.i, t.o, t.s));
            var attn = SpatialAttention.Plan(new AttentionConfig(t.o, t.s, t.heads, t.g));
            var validRes = t.i > 0 && t.o > 0 && t.s.Dims.All(d => d > 0) && (t.g is null || (t.g > 0 && t.i % t.g == 0 && t.o % t.g == 0));
            var validDown = t.i > 0 && t.o > 0 && t.s.Dims.All(d => d > 0 && d % 2 == 0);
            var validAttn = t.o > 0 && t.s.Dims.All(d => d > 0) && t.heads > 0 && t.o % t.heads == 0 && (t.g is null || (t.g > 0 && t.o % t.g == 0));
            return res.IsValid == validRes && down.IsValid == validDown && attn.IsValid == validAttn;
        }, 500);
    }

    [Fact]
    public void Invalid_configs_report_every_problem_with_path_field_and_rule()
    {
        var res = ResBlock.Plan(new ResBlockConfig(48, 40, new Spatial(7, 7), 0, new ResOptions(Groups: 32, Dropout: 1.5)), "unet.down[2].res[0]").Problems;
        Assert.Contains("unet.down[2].res[0]: groups=32 does not divide in_channels=48", res);
        Assert.Contains("unet.down[2].res[0]: groups=32 does not divide out_channels=40", res);
        Assert.Contains("unet.down[2].res[0]: dropout=1.5 must lie in [0, 1)", res);
        Assert.Equal(3, res.Count);

        var down = Downsample.Plan(new DownsampleConfig(8, 8, new Spatial(7, 8))).Problems;
        Assert.Equal(new[] { "downsample: spatial size 7 cannot be halved by a stride-2 downsample without losing a row" }, down.ToArray());

        Assert.Contains("block: heads=3 does not divide dim=128", DiTBlock.Plan(new DiTBlockConfig(128, 3, 16)).Problems);
        Assert.Contains("attn: heads=3 does not divide dim=128", SpatialAttention.Plan(new AttentionConfig(128, new Spatial(4, 4), 3)).Problems);
        Assert.Contains("x_embedder: patch_size=4 does not divide spatial size 30", PatchEmbed.Plan(new PatchEmbedConfig(3, 64, new Spatial(30, 32), 4)).Problems);

        var ex = Assert.Throws<ConfigException>(() => EncoderStage.Plan(new EncoderStageConfig(48, 48, new Spatial(8, 8), 2, 0, Res: new ResOptions(Groups: 32)), "unet.down[2]").OrThrow());
        Assert.Equal(4, ex.Problems.Count); // in and out channels of both ResBlocks
        Assert.Contains("unet.down[2].resnets.1: groups=32 does not divide in_channels=48", ex.Message);
    }

    [Fact]
    public void Additive_skip_rejects_the_seed_notes_8C_plus_4C_sum()
    {
        // The seed U-Net sketch adds interpolate(b) (8·64 channels) to e3 (4·64): addition needs equal channels.
        var add = DecoderStage.Plan(new DecoderStageConfig(512, 256, new Spatial(8, 8), [256], 0, SkipMode.Add), "dec3").Problems;
        Assert.Equal(new[] { "dec3: skip_mode=add: skip[0] has 256 channels but the activation it is added to has 512 (addition needs equal channels; use concat)" }, add.ToArray());
        var concat = DecoderStage.Plan(new DecoderStageConfig(512, 256, new Spatial(8, 8), [256], 0, SkipMode.Concat), "dec3").OrThrow();
        Assert.Equal(768, concat.Resnets[0].Config.In);
    }

    [Fact]
    public void Wrong_inputs_fail_naming_the_block_and_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var p = ResBlock.Plan(new ResBlockConfig(64, 64, new Spatial(16, 16), 32), "unet.mid.res[0]").OrThrow();
        using var w = Params.Init(p.Module, g);
        var e = Assert.Throws<ShapeException>(() => ResBlock.Forward(p, w, torch.randn([2, 48, 16, 16], g), torch.randn([2, 32], g)));
        Assert.Equal("unet.mid.res[0]: expected input [N, 64, 16, 16], got [2, 48, 16, 16]", e.Message);
        var r = Assert.Throws<ShapeException>(() => ResBlock.Forward(p, w, torch.randn([2, 64, 16, 16, 1], g), torch.randn([2, 32], g)));
        Assert.Contains("got [2, 64, 16, 16, 1]", r.Message);
        var t = Assert.Throws<ShapeException>(() => ResBlock.Forward(p, w, torch.randn([2, 64, 16, 16], g), torch.randn([2, 16], g)));
        Assert.Equal("unet.mid.res[0]: expected temb [2, 32], got [2, 16]", t.Message);
    }

    [Fact]
    public void Parameter_names_follow_diffusers_and_DiT()
    {
        using var g = new Generator(0);
        var p = ResBlock.Plan(new ResBlockConfig(32, 64, new Spatial(8, 8), 128)).OrThrow();
        using var w = Params.Init(p.Module, g);
        Assert.Equal(["norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "time_emb_proj.weight", "time_emb_proj.bias",
            "norm2.weight", "norm2.bias", "conv2.weight", "conv2.bias", "conv_shortcut.weight", "conv_shortcut.bias"], w.Named().Select(n => n.Name));
        var d = DiTBlock.Plan(new DiTBlockConfig(1152, 16, 256)).OrThrow();
        Assert.Equal(18L * 1152 * 1152 + 15 * 1152, d.Module.ParameterCount); // DiT-XL block
        var e = EncoderStage.Plan(new EncoderStageConfig(32, 64, new Spatial(8, 8), 2, 16, Attention: true)).OrThrow();
        using var we = Params.Init(e.Module, g);
        Assert.Contains("attentions.1.to_out.0.weight", we.Named().Select(n => n.Name));
        Assert.Contains("downsamplers.0.conv.weight", we.Named().Select(n => n.Name));
    }

    [Fact]
    public void Unpatchify_inverts_patch_tokenisation()
    {
        Law.Holds(from rank in Gen.Elements(2, 3) from patch in Gen.Elements(1, 2, 4) from c in Gen.Choose(1, 4) from grid in Gen.Choose(1, 3).ArrayOf(rank) select (rank, patch, c, grid), t =>
        {
            var size = new Spatial(t.grid.Select(k => k * t.patch).ToArray());
            using var g = new Generator(5);
            var x = torch.randn([2, t.c, .. size.Dims.Select(d => (long)d)], g);
            // Tokens by hand: identity patch embedding (kernel = stride = p, one-hot weights) laid out (p, p[, p], C).
            var k = (long)Math.Pow(t.patch, t.rank);
            var plan = PatchEmbed.Plan(new PatchEmbedConfig(t.c, (int)(k * t.c), size, t.patch)).OrThrow();
            var eye = torch.eye(k * t.c).reshape([k, t.c, k * t.c]).permute(2, 1, 0).reshape([k * t.c, t.c, .. Enumerable.Repeat((long)t.patch, t.rank)]);
            using var w = Params.From(plan.Module, (name, _) => name == "proj.weight" ? eye.DetachFromDisposeScope() : torch.zeros([k * t.c]).DetachFromDisposeScope());
            var tokens = PatchEmbed.Forward(plan, w, x);
            return PatchEmbed.Unpatchify(tokens, plan.Grid, t.patch, t.c).equal(x);
        }, 200);
    }
}

public class TembErasureTests
{
    [Fact]
    public void Additive_temb_before_a_one_channel_per_group_norm_is_erased_and_the_plan_says_so()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(11);
        var p = ResBlock.Plan(new ResBlockConfig(32, 32, new Spatial(4, 4), 16)).OrThrow(); // 32 groups of 1 channel
        Assert.True(p.TembErasedByNorm);
        using var w = Params.Init(p.Module, g);
        var x = torch.randn([1, 32, 4, 4], g);
        var y1 = ResBlock.Forward(p, w, x, torch.randn([1, 16], g));
        var y2 = ResBlock.Forward(p, w, x, torch.randn([1, 16], g));
        Assert.True(y1.allclose(y2, 1e-4, 1e-4));
        Assert.False(ResBlock.Plan(new ResBlockConfig(64, 64, new Spatial(4, 4), 16)).OrThrow().TembErasedByNorm);
    }
}
