using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

public enum UpsampleKind
{
    /// <summary>Nearest-neighbour ×2 then a 3×3 conv (DDPM; avoids the checkerboard artifacts of Odena et al. 2016).</summary>
    NearestConv,

    /// <summary>Transposed conv, kernel 4, stride 2, padding 1: (n − 1)·2 − 2 + 4 = 2n.</summary>
    TransposedConv,
}

public sealed record UpsampleConfig(int In, int Out, Spatial Size, UpsampleKind Kind = UpsampleKind.NearestConv);

public sealed record UpsamplePlan(string Path, UpsampleConfig Config, Leaf<ConvSpec> Conv) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.Map(d => d * 2).WithChannels(Config.Out);

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "Upsample", OutputShape, [Conv.Module]);
}

/// <summary>Doubles every spatial dim: (N, In, *size) → (N, Out, *2·size).</summary>
public static class Upsample
{
    public static Checked<UpsamplePlan> Plan(UpsampleConfig c, string path = "upsample") => Checked.Of(
        [.. Rules.Positive(c.In, path, "in_channels"), .. Rules.Positive(c.Out, path, "out_channels"), .. c.Size.Check(path)],
        () => new UpsamplePlan(path, c, c.Kind == UpsampleKind.NearestConv
            ? new ConvSpec(c.Size.Rank, c.In, c.Out, 3, 1, 1).Declare("conv", c.Size.Map(d => d * 2).WithChannels(c.In))
            : new ConvSpec(c.Size.Rank, c.In, c.Out, 4, 2, 1, Transposed: true).Declare("conv", c.Size.WithChannels(c.In))));

    public static Tensor Forward(UpsamplePlan p, Params w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var h = p.Config.Kind == UpsampleKind.NearestConv ? F.interpolate(x, scaleFactor: 2.0) : x; // (N, In, *2·size) nearest
        return p.Conv.Forward(w, h).MoveToOuterDisposeScope();                                    // (N, Out, *2·size)
    }
}
