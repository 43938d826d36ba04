namespace Diffusion.Architectures;

/// <summary>
/// The fixed 2-D sine-cosine position embedding of MAE/DiT (<c>get_2d_sincos_pos_embed</c>): for the token at grid
/// row i, column j (token k = i·G + j) and q = D/4 frequencies ω_m = 10000^(−m/q),
/// e_k = [sin(jω), cos(jω), sin(iω), cos(iω)] — the column coordinate first, as numpy's meshgrid(w, h) orders it.
/// </summary>
public static class PosEmbed
{
    /// <summary>(G², D) row-major; D must be divisible by 4.</summary>
    public static float[] SinCos2D(int dim, int grid)
    {
        var q = dim / 4;
        var emb = new float[grid * grid * dim];
        var omega = Enumerable.Range(0, q).Select(m => 1.0 / Math.Pow(10000, (double)m / q)).ToArray(); // float64 as numpy
        for (var i = 0; i < grid; i++)
        for (var j = 0; j < grid; j++)
        {
            var row = (i * grid + j) * dim;
            for (var m = 0; m < q; m++)
            {
                emb[row + m] = (float)Math.Sin(j * omega[m]);
                emb[row + q + m] = (float)Math.Cos(j * omega[m]);
                emb[row + 2 * q + m] = (float)Math.Sin(i * omega[m]);
                emb[row + 3 * q + m] = (float)Math.Cos(i * omega[m]);
            }
        }
        return emb;
    }
}
