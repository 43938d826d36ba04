using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Blocks;

/// <summary>ViT/DiT patch embedding: non-overlapping p×p (×p) patches, each linearly projected to Dim.</summary>
/// <summary>The projection's init: PyTorch's conv default (U-ViT), or DiT's Xavier over the flattened kernel.</summary>
public sealed record PatchEmbedConfig(int In, int Dim, Spatial Size, int Patch, InitScheme? Init = null);

/// <summary>Its conv is named <c>proj</c> as in timm's PatchEmbed (DiT's <c>x_embedder.proj</c>).</summary>
public sealed record PatchEmbedPlan(string Path, PatchEmbedConfig Config, Leaf<ConvSpec> Proj) : IBlockPlan
{
    /// <summary>Tokens T = ∏ (size / patch), in row-major order of the patch grid.</summary>
    public long Tokens => Config.Size.Dims.Aggregate(1L, (a, d) => a * (d / Config.Patch));

    public Spatial Grid => Config.Size.Map(d => d / Config.Patch);

    public long[] InputShape => Config.Size.WithChannels(Config.In);

    /// <summary>(T, Dim): the per-sample token sequence.</summary>
    public long[] OutputShape => [Tokens, Config.Dim];

    public Module Module => field ??= Module.Group(Rules.Leaf(Path), "PatchEmbed", OutputShape, [Proj.Module]);
}

public static class PatchEmbed
{
    public static Checked<PatchEmbedPlan> Plan(PatchEmbedConfig c, string path = "x_embedder") => Checked.Of(
        [
            .. Rules.Positive(c.In, path, "in_channels"), .. Rules.Positive(c.Dim, path, "dim"), .. c.Size.Check(path),
            .. Rules.Positive(c.Patch, path, "patch_size"),
            .. c.Size.Dims.Where(d => c.Patch > 0 && d > 0 && d % c.Patch != 0).Distinct()
                .SelectMany(d => Rules.Require(false, path, $"patch_size={c.Patch} does not divide spatial size {d}")),
        ],
        () => new PatchEmbedPlan(path, c, new ConvSpec(c.Size.Rank, c.In, c.Dim, c.Patch, c.Patch).Declare("proj", c.Size.WithChannels(c.In), c.Init)));

    /// <summary>(N, In, *size) → (N, T, Dim).</summary>
    public static Tensor Forward(PatchEmbedPlan p, Params w, Tensor x)
    {
        Guard.Input(p.Path, p.InputShape, x);
        using var scope = torch.NewDisposeScope();
        var h = p.Proj.Forward(w, x);                          // (N, Dim, *grid)
        return h.flatten(2).transpose(1, 2).MoveToOuterDisposeScope(); // (N, T, Dim)
    }

    /// <summary>
    /// DiT's unpatchify, for 2-D or 3-D: (N, T, p^r·C) with T = ∏ grid → (N, C, *grid·p). Token order matches
    /// <see cref="Forward"/>; within a token the layout is (p, p[, p], C) as DiT's final linear emits it.
    /// </summary>
    public static Tensor Unpatchify(Tensor x, Spatial grid, int patch, int channels)
    {
        var r = grid.Rank;
        var s = x.shape;
        var expectedLast = (long)Math.Pow(patch, r) * channels;
        if (s.Length != 3 || s[1] != grid.Positions || s[2] != expectedLast)
            throw new ShapeException("unpatchify", $"[N, {grid.Positions}, {expectedLast}]", s);
        using var scope = torch.NewDisposeScope();
        long[] split = [s[0], .. grid.Dims.Select(d => (long)d), .. Enumerable.Repeat((long)patch, r), channels];
        // 2-D: (N, h, w, p, q, C) → (N, C, h, p, w, q); 3-D: (N, d, h, w, p, q, o, C) → (N, C, d, p, h, q, w, o).
        long[] perm = r == 2 ? [0, 5, 1, 3, 2, 4] : [0, 7, 1, 4, 2, 5, 3, 6];
        long[] final = [s[0], channels, .. grid.Dims.Select(d => (long)d * patch)];
        return x.reshape(split).permute(perm).reshape(final).MoveToOuterDisposeScope();
    }
}
