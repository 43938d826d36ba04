using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

public enum DownsampleKind
{
    /// <summary>3×3 conv, stride 2 (DDPM resamp_with_conv, diffusers Downsample2D use_conv).</summary>
    StridedConv,

    /// <summary>2×2 average pooling, then a 1×1 conv only when the channels change.</summary>
    AvgPool,
}

/// <summary>Where a stride-2 3×3 conv pads its input.</summary>
public enum DownsamplePadding
{
    /// <summary>
    /// One zero row/column after the end of every spatial dim, none before: TensorFlow's 'SAME' for stride 2, as the
    /// original DDPM (diffusion_tf nn.downsample) and diffusers with downsample_padding=0 — how Google's DDPM checkpoints load.
    /// </summary>
    Same,

    /// <summary>One on every side (padding=1; diffusers' default downsample_padding=1): each output is shifted half a step.</summary>
    Symmetric,
}

public sealed record DownsampleConfig(int In, int Out, Spatial Size, DownsampleKind Kind = DownsampleKind.StridedConv,
    DownsamplePadding Padding = DownsamplePadding.Same);

/// <summary>The conv is named <c>conv</c> as in diffusers (its 1×1 projection after pooling too).</summary>
public sealed record DownsamplePlan(string Path, DownsampleConfig Config, Leaf<ConvSpec>? Conv) : IBlockPlan
{
    public long[] InputShape => Config.Size.WithChannels(Config.In);

    public long[] OutputShape => Config.Size.Map(d => d / 2).WithChannels(Config.Out);

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), Config.Kind == DownsampleKind.AvgPool ? "Downsample(avg_pool)" : "Downsample",
        OutputShape, [Conv?.Module]);

    /// <summary>'SAME' padding as F.pad's (before, after) pairs: (0, 1) for every spatial dim.</summary>
    internal long[] SamePad => Enumerable.Repeat(new long[] { 0, 1 }, Config.Size.Rank).SelectMany(p => p).ToArray();
}

/// <summary>Halves every spatial dim: (N, In, *size) → (N, Out, *size/2).</summary>
public static class Downsample
{
    public static Checked<DownsamplePlan> Plan(DownsampleConfig c, string path = "downsample")
    {
        IEnumerable<string> problems =
        [
            .. Rules.Positive(c.In, path, "in_channels"), .. Rules.Positive(c.Out, path, "out_channels"), .. c.Size.Check(path),
            .. c.Size.Dims.Where(d => d > 0 && d % 2 != 0).Distinct().SelectMany(d =>
                Rules.Require(false, path, $"spatial size {d} cannot be halved by a stride-2 downsample without losing a row")),
        ];
        return Checked.Of(problems, () =>
        {
            var same = c.Padding == DownsamplePadding.Same;
            long[] input = c.Size.WithChannels(c.In), padded = [c.In, .. c.Size.Dims.Select(d => d + (same ? 1L : 0))];
            return new DownsamplePlan(path, c, c.Kind switch
            {
                DownsampleKind.StridedConv => new ConvSpec(c.Size.Rank, c.In, c.Out, 3, 2, same ? 0 : 1).Declare("conv", padded),
                _ => c.In != c.Out ? new ConvSpec(c.Size.Rank, c.In, c.Out, 1).Declare("conv", c.Size.Map(d => d / 2).WithChannels(c.In)) : null,
            });
        });
    }

    public static Tensor Forward(DownsamplePlan p, Params w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var h = p.Config.Kind == DownsampleKind.StridedConv
            ? (p.Config.Padding == DownsamplePadding.Same ? F.pad(x, p.SamePad) : x)             // (N, In, *size + 1)
            : p.Config.Size.Rank == 2 ? F.avg_pool2d(x, 2) : F.avg_pool3d(x, 2);                 // (N, In, *size/2)
        if (p.Conv is not null) h = p.Conv.Forward(w, h);                                        // (N, Out, *size/2)
        return h.MoveToOuterDisposeScope();
    }
}
