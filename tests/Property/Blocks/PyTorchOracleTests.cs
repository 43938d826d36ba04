using System.Text.Json;
using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Property.Tests;

/// <summary>
/// Blocks against PyTorch: Fixtures/make_block_fixtures.py writes diffusers-/DiT-shaped modules' state_dicts, inputs
/// and outputs; loading the weights by name into our parameter records must reproduce the outputs.
/// </summary>
public class PyTorchOracleTests
{
    private sealed record Fixture(JsonElement Root)
    {
        public static Fixture Load(string name) =>
            new(JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name + ".json"))).RootElement);

        public static Tensor Read(JsonElement e) =>
            torch.tensor(e.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
                e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray());

        public Tensor Input(string name) => Read(Root.GetProperty("inputs").GetProperty(name));

        public Tensor Output => Read(Root.GetProperty("output"));

        public JsonElement Config => Root.GetProperty("config");

        /// <summary>Copies every fixture tensor into the parameter of the same name; both name sets must agree.</summary>
        public void LoadInto(Params p)
        {
            var ours = p.Named().ToDictionary(n => n.Name, n => n.Tensor);
            var theirs = Root.GetProperty("params").EnumerateObject().ToList();
            Assert.Equal(theirs.Select(t => t.Name).Order(), ours.Keys.Order());
            using var noGrad = torch.no_grad();
            foreach (var t in theirs)
            {
                var value = Read(t.Value);
                Assert.Equal(value.shape, ours[t.Name].shape);
                ours[t.Name].copy_(value);
            }
        }
    }

    [Theory]
    [InlineData("resblock2d_additive")]
    [InlineData("resblock3d_scaleshift")]
    public void ResBlock_matches_diffusers_ResnetBlock(string name)
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load(name);
        var c = f.Config;
        var x = f.Input("x");
        var options = new ResOptions(c.GetProperty("groups").GetInt32(), c.GetProperty("eps").GetDouble(),
            Conditioning: c.GetProperty("scale_shift").GetBoolean() ? TimeConditioning.ScaleShift : TimeConditioning.Additive,
            ScaleOutputBySqrt2: c.GetProperty("factor").GetDouble() > 1);
        var plan = ResBlock.Plan(new ResBlockConfig(c.GetProperty("cin").GetInt32(), c.GetProperty("cout").GetInt32(),
            new Spatial(x.shape[2..].Select(d => (int)d).ToArray()), c.GetProperty("temb").GetInt32(), options)).OrThrow();
        using var g = new Generator(0);
        using var w = Params.Init(plan.Module, g);
        f.LoadInto(w);
        var y = ResBlock.Forward(plan, w, x, f.Input("temb"));
        Assert.True(y.allclose(f.Output, 1e-4, 1e-4), $"max |Δ| = {Law.Max(y - f.Output)}");
    }

    [Fact]
    public void DiTBlock_matches_the_official_DiTBlock()
    {
        using var scope = torch.NewDisposeScope();
        var f = Fixture.Load("dit_block");
        var c = f.Config;
        var plan = DiTBlock.Plan(new DiTBlockConfig(c.GetProperty("dim").GetInt32(), c.GetProperty("heads").GetInt32(),
            c.GetProperty("tokens").GetInt64(), c.GetProperty("ratio").GetDouble())).OrThrow();
        using var g = new Generator(0);
        using var w = Params.Init(plan.Module, g);
        f.LoadInto(w);
        var y = DiTBlock.Forward(plan, w, f.Input("x"), f.Input("c"));
        Assert.True(y.allclose(f.Output, 1e-4, 1e-4), $"max |Δ| = {Law.Max(y - f.Output)}");
        Assert.Equal(plan.Module.ParameterCount, w.Count());
    }
}
