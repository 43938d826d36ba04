using Diffusion.Primitives;
using Diffusion.Torch;
using LanguageExt;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

public enum DownsampleKind
{
    /// <summary>3×3 conv, stride 2, padding 1 (DDPM resamp_with_conv, diffusers Downsample2D use_conv).</summary>
    StridedConv,

    /// <summary>2×2 average pooling, then a 1×1 conv only when the channels change.</summary>
    AvgPool,
}

public sealed record DownsampleConfig(int In, int Out, Spatial Size, DownsampleKind Kind = DownsampleKind.StridedConv);

public sealed record DownsamplePlan(string Path, DownsampleConfig Config, ConvSpec? Conv) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.Map(d => d / 2).WithChannels(Config.Out);

    public long ParameterCount => Conv?.ParameterCount ?? 0;
}

/// <summary>The conv is named <c>conv</c> as in diffusers (its 1×1 projection after pooling too).</summary>
public sealed record DownsampleParams(ConvParams? Conv) : Params
{
    public override IEnumerable<NamedTensor> Named() => Sub("conv", Conv);
}

/// <summary>Halves every spatial dim: (N, In, *size) → (N, Out, *size/2).</summary>
public static class Downsample
{
    public static Validation<string, DownsamplePlan> Plan(DownsampleConfig c, string path = "downsample")
    {
        var problems = Rules.Positive(c.In, path, "in_channels") + Rules.Positive(c.Out, path, "out_channels") + c.Size.Check(path)
            + Rules.Each(c.Size.Dims.Where(d => d > 0 && d % 2 != 0).Distinct(),
                d => Rules.Require(false, path, $"spatial size {d} cannot be halved by a stride-2 downsample without losing a row"));
        return Rules.Build(problems, () => new DownsamplePlan(path, c, c.Kind switch
        {
            DownsampleKind.StridedConv => new ConvSpec(c.Size.Rank, c.In, c.Out, 3, 2, 1),
            _ => c.In != c.Out ? new ConvSpec(c.Size.Rank, c.In, c.Out, 1) : null,
        }));
    }

    public static DownsampleParams Init(DownsamplePlan p, Generator g, InitScheme? scheme = null) =>
        new(p.Conv is { } s ? Conv.Init(s, g, scheme) : null);

    public static Tensor Forward(DownsamplePlan p, DownsampleParams w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        if (p.Config.Kind == DownsampleKind.StridedConv) return Conv.Forward(p.Conv!, w.Conv!, x);
        using var scope = torch.NewDisposeScope();
        var h = p.Config.Size.Rank == 2 ? F.avg_pool2d(x, 2) : F.avg_pool3d(x, 2); // (N, In, *size/2)
        if (w.Conv is not null) h = Conv.Forward(p.Conv!, w.Conv, h);             // (N, Out, *size/2)
        return h.MoveToOuterDisposeScope();
    }
}
