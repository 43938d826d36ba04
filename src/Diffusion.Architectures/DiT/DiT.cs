using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// The Diffusion Transformer (Peebles &amp; Xie 2023, facebookresearch/DiT models.py):
/// x → PatchEmbed + pos_embed (N, T, D); c = TimestepEmbedder(t) + LabelEmbedder(y) (N, D);
/// N × DiTBlock(x, c); FinalLayer(x, c) (N, T, p²·C_out); unpatchify (N, C_out, H, W).
/// Initialised as initialize_weights: Xavier-uniform linears with zero biases, the patch conv as a flat linear,
/// N(0, 0.02²) label table and timestep MLP, adaLN modulations and the final layer zero — so a fresh DiT outputs 0.
/// </summary>
public sealed class DiT(DiTPlan plan, Generator generator) : ScoreModel<DiTPlan>(plan, generator)
{
    /// <summary>
    /// x (N, C, H, W), t (N) → (N, C_out, H, W). Labels (N) int64 in [0, LabelRows); NumClasses is the null class.
    /// Without labels a class-conditional DiT uses the null class (unconditional).
    /// </summary>
    public override Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var (p, w, c) = (Plan, weights, Plan.Config);
        var n = CheckInputs("dit", x, t, conditioning, labels: p.LabelTable is not null);
        using var scope = torch.NewDisposeScope();
        var h = PatchEmbed.Forward(p.XEmbedder, w[p.XEmbedder], x) + w.Bare(p.PosEmbed); // (N, T, D)
        var cond = p.TEmbedder.Forward(w, Sinusoidal.Embed(p.Frequency, t));                     // (N, D)
        if (p.LabelTable is { } table)
        {
            var labels = ClassLabels.Check("dit.y_embedder", conditioning?.Labels, n, c.LabelRows, c.HasNullClass ? c.NumClasses : null);
            cond = cond + table.Forward(w[p.YEmbedder!], labels);                          // (N, D)
        }
        foreach (var b in p.Blocks) h = DiTBlock.Forward(b, w[b], h, cond);                       // (N, T, D)
        h = FinalLayer.Forward(p.Final, w[p.Final], h, cond);                                     // (N, T, p²·C_out)
        return PatchEmbed.Unpatchify(h, p.Grid, c.PatchSize, c.OutChannels).MoveToOuterDisposeScope(); // (N, C_out, H, W)
    }
}
