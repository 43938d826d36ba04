using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Blocks;

/// <summary>
/// timm's Attention, as DiT and U-ViT use it: q, k and v from one linear <c>qkv</c>, heads of width D/heads, softmax
/// attention (Vaswani et al. 2017 eq. 1), output projection <c>proj</c>. A child named <c>attn</c> of its block.
/// </summary>
public sealed record TokenAttention(int Dim, int Heads, long Tokens, Leaf<LinearSpec> Qkv, Leaf<LinearSpec> Proj) : IDeclared
{
    public static TokenAttention Declare(int dim, int heads, long tokens, bool qkvBias, InitScheme init) =>
        new(dim, heads, tokens, new LinearSpec(dim, 3 * dim, qkvBias).Declare("qkv", tokens, init), new LinearSpec(dim, dim).Declare("proj", tokens, init));

    /// <summary>QKᵀ and AV: T²·D multiply-accumulates each.</summary>
    public Module Module => field ??= Module.Group("attn", "Attention", [Tokens, Dim], [Qkv.Module, Proj.Module], 2 * Tokens * Tokens * Dim);

    /// <summary>(N, T, D) → (N, T, D), reading this attention's subtree of its block's parameters.</summary>
    public Tensor Forward(Params block, Tensor h)
    {
        var w = block[this];
        long n = h.size(0), t = h.size(1);
        var qkv = Qkv.Forward(w, h).reshape(n, t, 3, Heads, Dim / Heads).permute(2, 0, 3, 1, 4); // (3, N, heads, T, D/heads)
        var a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);                         // (N, heads, T, D/heads)
        return Proj.Forward(w, a.transpose(1, 2).reshape(n, t, Dim));                           // (N, T, D)
    }
}

/// <summary>timm's Mlp: fc1 → act → fc2 over tokens, hidden width Dim·ratio. A child named <c>mlp</c> of its block.</summary>
public sealed record TokenMlp(Activation Act, long Tokens, Leaf<LinearSpec> Fc1, Leaf<LinearSpec> Fc2) : IDeclared
{
    public static TokenMlp Declare(int dim, int hidden, long tokens, Activation act, InitScheme init) =>
        new(act, tokens, new LinearSpec(dim, hidden).Declare("fc1", tokens, init), new LinearSpec(hidden, dim).Declare("fc2", tokens, init));

    public Module Module => field ??= Module.Group("mlp", "Mlp", [Tokens, Fc2.Spec.Out],
        [Fc1.Module, Module.Op("act", Act == Activation.GELUTanh ? "GELU(tanh)" : Act.ToString(), [Tokens, Fc1.Spec.Out]), Fc2.Module]);

    /// <summary>(N, T, D) → (N, T, D).</summary>
    public Tensor Forward(Params block, Tensor h)
    {
        var w = block[this];
        return Fc2.Forward(w, Act.Apply(Fc1.Forward(w, h)));
    }
}
