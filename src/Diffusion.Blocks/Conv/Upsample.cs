using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
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

public sealed record UpsamplePlan(string Path, UpsampleConfig Config, ConvSpec Conv) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.Map(d => d * 2).WithChannels(Config.Out);

    public long ParameterCount => Conv.ParameterCount;
}

public sealed record UpsampleParams(ConvParams Conv) : Params
{
    public override IEnumerable<NamedTensor> Named() => Sub("conv", Conv);
}

/// <summary>Doubles every spatial dim: (N, In, *size) → (N, Out, *2·size).</summary>
public static class Upsample
{
    public static Validation<string, UpsamplePlan> Plan(UpsampleConfig c, string path = "upsample")
    {
        var problems = Rules.Positive(c.In, path, "in_channels") + Rules.Positive(c.Out, path, "out_channels") + c.Size.Check(path);
        return Rules.Build(problems, () => new UpsamplePlan(path, c, c.Kind == UpsampleKind.NearestConv
            ? new ConvSpec(c.Size.Rank, c.In, c.Out, 3, 1, 1)
            : new ConvSpec(c.Size.Rank, c.In, c.Out, 4, 2, 1, Transposed: true)));
    }

    public static UpsampleParams Init(UpsamplePlan p, Generator g, InitScheme? scheme = null) => new(Conv.Init(p.Conv, g, scheme));

    public static Tensor Forward(UpsamplePlan p, UpsampleParams w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        if (p.Config.Kind == UpsampleKind.TransposedConv) return Conv.Forward(p.Conv, w.Conv, x);
        using var scope = torch.NewDisposeScope();
        var h = F.interpolate(x, scaleFactor: 2.0); // (N, In, *2·size), nearest
        return Conv.Forward(p.Conv, w.Conv, h).MoveToOuterDisposeScope();
    }
}
