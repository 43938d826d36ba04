namespace Diffusion.Primitives;

/// <summary>
/// Upper bounds on the sizes a config may ask for, checked before any arithmetic on them and before anything is planned,
/// so that validating an absurd config (<c>num_res_blocks: 1000000000</c>, <c>channels: 1e9</c>) is bounded work with a
/// clear error rather than a billion planned blocks or a width that overflows into a negative one. Each bound is far
/// beyond the published models and keeps every derived count within 64 bits: widths ≤ 2¹³ and ≤ 2²⁴ elements per sample
/// bound attention's 2·T²·C and a conv's positions·C_in·C_out·k³ multiply-accumulates below 2⁶³; the totals over a
/// network are summed with checked arithmetic (<see cref="Module"/>), so a bounded config can still only fail cleanly.
/// </summary>
public static class Limits
{
    /// <summary>A bound and why it is there.</summary>
    public sealed record Limit(long Max, string Why)
    {
        /// <summary>One problem at <paramref name="path"/> when <paramref name="value"/> exceeds the bound.</summary>
        public IEnumerable<string> Check(long value, string path, string field) =>
            Rules.Require(value <= Max, path, $"{field}={value} exceeds the limit of {Max:N0} ({Why})");

        /// <summary>The same for a derived size computed in floating point (a product of fields, which cannot overflow).</summary>
        public IEnumerable<string> Check(double value, string path, string field) =>
            Rules.Require(value <= Max, path, $"{field}={value:#,0.##} exceeds the limit of {Max:N0} ({Why})");
    }

    /// <summary>Channels, hidden and embedding widths, time-embedding widths, heads, groups, metadata width.</summary>
    public static readonly Limit Width = new(8_192, "7× DiT-XL's 1,152; a linear layer that wide holds 67M weights");

    /// <summary>Blocks in a stack: depth, ResBlocks per level.</summary>
    public static readonly Limit Repeats = new(1_024, "DiT-XL has 28 blocks; each block is planned, so this bounds validation work");

    /// <summary>Resolution levels of a U-Net (each halves the size).</summary>
    public static readonly Limit Levels = new(16, "each level halves the size, and sides are at most 16,384");

    /// <summary>One spatial side (image or volume), a patch side.</summary>
    public static readonly Limit Side = new(16_384, "a 16,384² image is 268M pixels");

    /// <summary>Elements of one sample (channels × spatial positions).</summary>
    public static readonly Limit Elements = new(1L << 24, "64 MiB of float32 per sample; keeps attention's T²·C multiply-accumulates within 64 bits");

    /// <summary>Classes of a class-conditional model.</summary>
    public static readonly Limit Classes = new(1_000_000, "ImageNet-21k has 21,841");

    /// <summary>A width multiplier (channel_mult, time_embed_mult, mlp_ratio).</summary>
    public static readonly Limit Multiplier = new(64, "the derived width is also bounded by the width limit");
}
