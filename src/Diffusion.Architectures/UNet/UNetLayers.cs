using Diffusion.Blocks;
using Diffusion.Primitives;

namespace Diffusion.Architectures;

/// <summary>
/// The U-Net's layer tree from its plan alone (no kernels run). MACs per sample count multiply-accumulates only:
/// conv = output positions × out × in × kernel volume (a transposed conv: input positions × in × out × kernel volume);
/// linear = in × out per token; attention adds QKᵀ and AV, L²·C each. Norms, activations, pooling, interpolation and
/// embedding look-ups count 0.
/// </summary>
internal static class UNetLayers
{
    public static IReadOnlyList<LayerInfo> Rows(UNetPlan p)
    {
        var rows = new List<LayerInfo> { new("", "UNet", 0, p.OutputShape, 0, true, 0) };
        rows.Add(p.Sinusoidal is { } s
            ? new LayerInfo("time_proj", "Sinusoidal", 1, [s.Dim], 0, false, 0)
            : new LayerInfo("time_proj", "GaussianFourier", 1, [p.Fourier!.Dim], p.Fourier.ParameterCount, false, 0));
        Mlp(rows, "time_embedding", "TimestepEmbedding", p.TimeEmbedding);
        if (p.ClassRows > 0) rows.Add(new("class_embedding", "Embedding", 1, [p.TembDim], (long)p.ClassRows * p.TembDim, true, 0));
        if (p.MetadataEmbedding is { } m) Mlp(rows, "metadata_embedding", "MetadataEmbedding", m);
        rows.Add(Conv("conv_in", p.ConvIn, p.InputShape, 1));
        foreach (var d in p.Down) Encoder(rows, d);
        Group(rows, "mid_block", "MidBlock", p.MidRes1.OutputShape, () =>
        {
            Res(rows, p.MidRes0, 2);
            if (p.MidAttention is { } a) Attention(rows, a, 2);
            Res(rows, p.MidRes1, 2);
        });
        foreach (var u in p.Up) Decoder(rows, u);
        rows.Add(Norm("conv_norm_out", p.NormOut, p.Size.WithChannels(p.NormOut.Channels), 1));
        rows.Add(new("conv_act", "SiLU", 1, p.Size.WithChannels(p.NormOut.Channels), 0, false, 0));
        rows.Add(Conv("conv_out", p.ConvOut, p.Size.WithChannels(p.ConvOut.In), 1));
        rows[0] = rows[0] with { Params = rows.Where(r => r.Depth == 1).Sum(r => r.Params), Macs = rows.Where(r => r.Depth == 1).Sum(r => r.Macs) };
        return rows;
    }

    private static string Local(string path) => path.StartsWith("unet.", StringComparison.Ordinal) ? path["unet.".Length..] : path;

    /// <summary>Adds a parent row whose params and MACs are the sums of the rows one level down that <paramref name="children"/> appends.</summary>
    private static void Group(List<LayerInfo> rows, string path, string type, long[] shape, Action children, int depth = 1)
    {
        var at = rows.Count;
        rows.Add(new(path, type, depth, shape, 0, true, 0));
        children();
        var mine = rows.Skip(at + 1).Where(r => r.Depth == depth + 1).ToList();
        rows[at] = rows[at] with { Params = mine.Sum(r => r.Params), Macs = mine.Sum(r => r.Macs) };
    }

    private static void Mlp(List<LayerInfo> rows, string path, string type, TimeMlpSpec s) => Group(rows, path, type, [s.Out], () =>
    {
        rows.Add(Linear($"{path}.linear_1", s.Linear1, 1, 2));
        rows.Add(new($"{path}.act", s.Activation.ToString(), 2, [s.Hidden], 0, false, 0));
        rows.Add(Linear($"{path}.linear_2", s.Linear2, 1, 2));
    });

    /// <summary>A stage's ResBlocks in order, each followed by its attention when the stage has attention.</summary>
    private static void ResnetsWithAttention(List<LayerInfo> rows, LanguageExt.Seq<ResBlockPlan> resnets, LanguageExt.Seq<AttentionPlan> attentions)
    {
        for (var i = 0; i < resnets.Count; i++)
        {
            Res(rows, resnets[i], 2);
            if (attentions.Count > 0) Attention(rows, attentions[i], 2);
        }
    }

    private static void Encoder(List<LayerInfo> rows, EncoderStagePlan d) =>
        Group(rows, Local(d.Path), d.Attentions.Count > 0 ? "AttnDownBlock" : "DownBlock", d.OutputShape, () =>
        {
            ResnetsWithAttention(rows, d.Resnets, d.Attentions);
            if (d.Downsampler is { } s)
                rows.Add(s.Conv is { } conv && s.Config.Kind == DownsampleKind.StridedConv
                    ? Conv(Local(s.Path), conv, s.InputShape, 2) with { Type = "Downsample" }
                    : new LayerInfo(Local(s.Path), "Downsample(avg_pool)", 2, s.OutputShape, s.ParameterCount, true,
                        s.Conv is { } proj ? Conv("", proj, s.Config.Size.Map(x => x / 2).WithChannels(s.Config.In), 2).Macs : 0));
        });

    private static void Decoder(List<LayerInfo> rows, DecoderStagePlan u) =>
        Group(rows, Local(u.Path), u.Attentions.Count > 0 ? "AttnUpBlock" : "UpBlock", u.OutputShape, () =>
        {
            ResnetsWithAttention(rows, u.Resnets, u.Attentions);
            if (u.Upsampler is { } s)
            {
                // nearest ×2 then conv at the doubled size; a transposed conv reads the input size
                var convInput = s.Config.Kind == UpsampleKind.NearestConv ? s.Config.Size.Map(x => x * 2).WithChannels(s.Config.In) : s.InputShape;
                rows.Add(Conv(Local(s.Path), s.Conv, convInput, 2) with { Type = "Upsample" });
            }
        });

    private static void Res(List<LayerInfo> rows, ResBlockPlan r, int depth)
    {
        var path = Local(r.Path);
        var size = r.Config.Size;
        Group(rows, path, "ResBlock", r.OutputShape, () =>
        {
            rows.Add(Norm($"{path}.norm1", r.Norm1, size.WithChannels(r.Norm1.Channels), depth + 1));
            rows.Add(Conv($"{path}.conv1", r.Conv1, r.InputShape, depth + 1));
            if (r.TimeEmbProj is { } t) rows.Add(Linear($"{path}.time_emb_proj", t, 1, depth + 1));
            rows.Add(Norm($"{path}.norm2", r.Norm2, r.OutputShape, depth + 1));
            rows.Add(Conv($"{path}.conv2", r.Conv2, r.OutputShape, depth + 1));
            if (r.Shortcut is { } sc) rows.Add(Conv($"{path}.conv_shortcut", sc, r.InputShape, depth + 1));
        }, depth);
    }

    private static void Attention(List<LayerInfo> rows, AttentionPlan a, int depth)
    {
        var path = Local(a.Path);
        var tokens = a.Config.Size.Positions;
        var ch = (long)a.Config.Channels;
        Group(rows, path, "Attention", a.OutputShape, () =>
        {
            rows.Add(Norm($"{path}.group_norm", a.Norm, a.InputShape, depth + 1));
            foreach (var name in new[] { "to_q", "to_k", "to_v" }) rows.Add(Linear($"{path}.{name}", a.Proj, tokens, depth + 1) with { OutputShape = [tokens, ch] });
            rows.Add(new($"{path}.attention", "ScaledDotProduct", depth + 1, [tokens, ch], 0, false, 2 * tokens * tokens * ch)); // QKᵀ and AV
            rows.Add(Linear($"{path}.to_out.0", a.Proj, tokens, depth + 1) with { OutputShape = a.OutputShape });
        }, depth);
    }

    private static LayerInfo Norm(string path, GroupNormSpec s, long[] shape, int depth) =>
        new(path, s.Groups == s.Channels && s.Channels > 1 ? "InstanceNorm" : "GroupNorm", depth, shape, s.ParameterCount, true, 0);

    private static LayerInfo Linear(string path, LinearSpec s, long tokens, int depth) =>
        new(path, "Linear", depth, [s.Out], s.ParameterCount, true, tokens * s.In * s.Out);

    /// <summary>A conv row from its per-sample input shape (C, *spatial).</summary>
    public static LayerInfo Conv(string path, ConvSpec s, long[] input, int depth)
    {
        var output = s.OutputShape(input);
        var kernel = (long)Math.Pow(s.Kernel, s.Rank);
        var positions = (s.Transposed ? input : output).Skip(1).Aggregate(1L, (a, b) => a * b);
        return new(path, s.Transposed ? $"ConvTranspose{s.Rank}d" : $"Conv{s.Rank}d", depth, output, s.ParameterCount, true,
            positions * s.Out * s.In * kernel);
    }
}
