using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Architectures;

/// <summary>
/// The U-Net score network described by <see cref="UNetConfig"/>:
/// emb = time_embedding(time_proj(t)) [+ class_embedding(y)] [+ metadata_embedding(m)];
/// h = conv_in(x); encoder levels push skips; mid = ResBlock → attention → ResBlock; decoder levels pop them;
/// out = conv_out(SiLU(conv_norm_out(h))).
/// </summary>
public sealed class UNet(UNetPlan plan, Generator generator) : ScoreModel<UNetPlan>(plan, generator)
{
    private const string Root = "unet";

    /// <summary>
    /// x (N, C_in, *size), t (N) → (N, C_out, *size). Labels (N) int64 in [0, NumClasses]; omitted labels mean the null class.
    /// Metadata (N, M) is required when MetadataDim &gt; 0.
    /// </summary>
    public override Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var (p, w, c) = (Plan, weights, Plan.Config);
        var n = CheckInputs(Root, x, t, conditioning, labels: c.NumClasses > 0, metadata: c.MetadataDim > 0);
        using var scope = torch.NewDisposeScope();

        var features = p.Sinusoidal is { } s ? Sinusoidal.Embed(s, t) : p.Fourier!.Embed(w, t); // (N, C) or (N, 2C)
        var emb = p.TimeEmbedding.Forward(w, features);                                          // (N, T)
        if (p.ClassEmbedding is { } table)
            emb = emb + table.Forward(w, ClassLabels.Check(Rules.Child(Root, "class_embedding"), conditioning?.Labels, n, c.NumClasses + 1, c.NumClasses)); // (N, T)
        if (p.MetadataEmbedding is { } m)
        {
            Guard.Vector(Rules.Child(Root, "metadata_embedding"), c.MetadataDim, n, conditioning?.Metadata, "metadata");
            emb = emb + m.Forward(w, conditioning!.Metadata!.@float()); // (N, T)
        }

        var h = p.ConvIn.Forward(w, x); // (N, C, *size)
        var skips = new List<Tensor>();
        if (c.Skip == SkipMode.Concat) skips.Add(h);
        foreach (var d in p.Down)
        {
            (h, var produced) = EncoderStage.Forward(d, w[d], h, emb, dropout); // (N, C_i, *size_i / 2)
            skips.AddRange(c.Skip == SkipMode.Concat ? produced : produced.Take(c.NumResBlocks)); // add-mode skips: the ResBlock outputs
        }

        h = MidBlock.Forward(p.Mid, w[p.Mid], h, emb, dropout); // (N, C_last, *size_last)

        foreach (var u in p.Up)
        {
            var count = u.Resnets.Count;
            var consumed = Enumerable.Range(1, count).Select(k => skips[^k]).ToList(); // popped from the end
            skips.RemoveRange(skips.Count - count, count);
            h = DecoderStage.Forward(u, w[u], h, consumed, emb, dropout); // (N, C_i | C_{i−1}, *2·size_i)
        }

        h = p.NormOut.ForwardIntoMatmul(w, h, Activation.SiLU); // (N, C_0, *size)
        return p.ConvOut.Forward(w, h).MoveToOuterDisposeScope(); // (N, C_out, *size)
    }
}
