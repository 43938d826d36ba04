using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// U-ViT (Bao et al. 2023; baofff/U-ViT libs/uvit.py): tokens = [label,] time, patches (+ a learned pos_embed);
/// skips hold each in-block's output and out-block i fuses the one pushed last (long skips, shallow ↔ deep).
/// Initialised as _init_weights: N(0, 0.02²) linears and pos_embed, zero biases, LayerNorm γ = 1, β = 0;
/// the convs (patch embedding, final 3×3) keep PyTorch's default and the label table nn.Embedding's N(0, 1).
/// </summary>
public sealed class UViT(UViTPlan plan, Generator generator) : ScoreModel<UViTPlan>(plan, generator)
{
    /// <summary>x (N, C, H, W), t (N) → (N, C, H, W); labels (N) int64 in [0, NumClasses) are required when NumClasses &gt; 0.</summary>
    public override Tensor Forward(Params weights, Tensor x, Tensor t, Conditioning? conditioning = null, Generator? dropout = null)
    {
        var (p, w, c) = (Plan, weights, Plan.Config);
        var n = CheckInputs("uvit", x, t, conditioning, labels: c.NumClasses > 0);
        using var scope = torch.NewDisposeScope();
        var h = PatchEmbed.Forward(p.PatchEmbed, w[p.PatchEmbed], x);      // (N, L, D)
        var time = Sinusoidal.Embed(p.Time, t);                              // (N, D)
        if (p.TimeEmbed is { } mlp) time = mlp.Forward(w, time);
        List<Tensor> tokens = [time.unsqueeze(1), h];                        // (N, 1, D), (N, L, D)
        if (p.LabelEmb is { } table)
            tokens.Insert(0, table.Forward(w, ClassLabels.Check("uvit.label_emb", conditioning?.Labels, n, c.NumClasses, null)).unsqueeze(1)); // (N, 1, D)
        h = torch.cat([.. tokens], 1) + w.Bare(p.PosEmbed);                 // (N, T, D)
        var skips = new Stack<Tensor>();
        foreach (var b in p.InBlocks) skips.Push(h = ViTBlock.Forward(b, w[b], h));
        h = ViTBlock.Forward(p.MidBlock, w[p.MidBlock], h);
        foreach (var b in p.OutBlocks)
        {
            var skip = skips.Pop();
            h = ViTBlock.Forward(b, w[b], h, b.SkipLinear is null ? null : skip);
        }
        h = p.DecoderPred.Forward(w, p.Norm.Forward(w, h));                 // (N, T, p²·C)
        h = h.narrow(1, c.Extras, p.PatchEmbed.Tokens);                       // (N, L, p²·C)
        var img = PatchEmbed.Unpatchify(h, p.PatchEmbed.Grid, c.PatchSize, c.InChans); // (N, C, H, W)
        if (p.FinalConv is { } f) img = f.Forward(w, img);                    // (N, C, H, W)
        return img.MoveToOuterDisposeScope();
    }
}
