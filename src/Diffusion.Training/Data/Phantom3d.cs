using Diffusion.Torch;

namespace Diffusion.Training.Data;

/// <summary>
/// Synthetic 3-D volumes in the spirit of the Shepp–Logan phantom (Shepp &amp; Logan 1974; its
/// 3-D form by Kak &amp; Slaney): a bright outer ellipsoid shell ("skull", intensity 1) around a
/// darker interior (0.2), plus <see cref="Inner"/> smaller ellipsoids with random centres, semi-axes,
/// rotations and additive intensities. Intensities are summed where ellipsoids overlap, clamped
/// to [0, 1] and mapped to [−1, 1] (background −1). Everything is drawn from the generator.
/// </summary>
public static class Phantom3d
{
    /// <summary>Number of small random ellipsoids inside the shell.</summary>
    public const int Inner = 6;

    private const int Params = 11; // centre 3, semi-axes 3, Euler angles 3, intensity 1, shell jitter 1

    /// <summary>n volumes (n, 1, size, size, size) float32 in [−1, 1].</summary>
    public static Tensor Sample(int n, int size, Generator g)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 2);
        using var scope = torch.NewDisposeScope();
        // All randomness in one draw, then plain arithmetic: (n, 2 + Inner, Params) uniforms.
        var u = torch.rand([n, 2 + Inner, Params], g, ScalarType.Float64).ToArray<double>();
        var ellipsoids = new List<(double[] Centre, double[] Axes, double[] Rotation, double Intensity)>[n];
        for (var i = 0; i < n; i++)
        {
            double U(int e, int p) => u[(i * (2 + Inner) + e) * Params + p];
            var list = new List<(double[], double[], double[], double)>();
            // Outer shell: a big ellipsoid (axes ≈ 0.69, 0.92, 0.81 as in 3-D Shepp–Logan, ±10 %),
            // slightly rotated about z, and an inner one 8 % smaller cancelling 0.8 of it.
            var scale = 0.9 + 0.2 * U(0, 10);
            double[] shellAxes = [0.69 * scale * (0.9 + 0.2 * U(0, 3)), 0.92 * scale * (0.9 + 0.2 * U(0, 4)), 0.81 * scale * (0.9 + 0.2 * U(0, 5))];
            var shellRotation = Rotation((U(0, 6) - 0.5) * 0.6, 0, 0);
            double[] shellCentre = [(U(0, 0) - 0.5) * 0.1, (U(0, 1) - 0.5) * 0.1, (U(0, 2) - 0.5) * 0.1];
            list.Add((shellCentre, shellAxes, shellRotation, 1.0));
            list.Add((shellCentre, shellAxes.Select(a => a * 0.92).ToArray(), shellRotation, -0.8));
            for (var e = 2; e < 2 + Inner; e++)
            {
                // Centres within ±35 % of the shell's semi-axes (so central slices cut most of them),
                // semi-axes 0.08–0.33, any orientation, intensity −0.3 … 0.6 added to the interior's 0.2.
                double[] centre = [(U(e, 0) - 0.5) * 0.7 * shellAxes[0], (U(e, 1) - 0.5) * 0.7 * shellAxes[1], (U(e, 2) - 0.5) * 0.7 * shellAxes[2]];
                double[] axes = [0.08 + 0.25 * U(e, 3), 0.08 + 0.25 * U(e, 4), 0.08 + 0.25 * U(e, 5)];
                var rotation = Rotation(2 * Math.PI * U(e, 6), Math.PI * U(e, 7), 2 * Math.PI * U(e, 8));
                list.Add((centre, axes, rotation, -0.3 + 0.9 * U(e, 9)));
            }
            ellipsoids[i] = list;
        }

        var volume = new float[(long)n * size * size * size];
        var coords = new double[size];
        for (var k = 0; k < size; k++) coords[k] = -1 + (2.0 * k + 1) / size; // voxel centres in (−1, 1)
        Parallel.For(0, n, i =>
        {
            var offset = (long)i * size * size * size;
            var values = new double[size * size * size];
            foreach (var (c, a, r, intensity) in ellipsoids[i])
                AddEllipsoid(values, coords, c, a, r, intensity);
            for (var v = 0; v < values.Length; v++)
                volume[offset + v] = (float)(2 * Math.Clamp(values[v], 0, 1) - 1);
        });
        return scope.MoveToOuter(torch.tensor(volume, [n, 1, size, size, size]));
    }

    /// <summary>Adds intensity inside {x : |R(x − c) / a| ≤ 1}; voxels indexed (z, y, x).</summary>
    private static void AddEllipsoid(double[] values, double[] coords, double[] c, double[] a, double[] r, double intensity)
    {
        var size = coords.Length;
        for (var z = 0; z < size; z++)
        {
            var dz = coords[z] - c[2];
            for (var y = 0; y < size; y++)
            {
                var dy = coords[y] - c[1];
                var row = (z * size + y) * size;
                for (var x = 0; x < size; x++)
                {
                    var dx = coords[x] - c[0];
                    var p = (r[0] * dx + r[1] * dy + r[2] * dz) / a[0];
                    var q = (r[3] * dx + r[4] * dy + r[5] * dz) / a[1];
                    var s = (r[6] * dx + r[7] * dy + r[8] * dz) / a[2];
                    if (p * p + q * q + s * s <= 1) values[row + x] += intensity;
                }
            }
        }
    }

    /// <summary>Row-major 3×3 rotation Rz(α)·Rx(β)·Rz(γ) (z-x-z Euler angles).</summary>
    private static double[] Rotation(double alpha, double beta, double gamma)
    {
        double ca = Math.Cos(alpha), sa = Math.Sin(alpha), cb = Math.Cos(beta), sb = Math.Sin(beta), cg = Math.Cos(gamma), sg = Math.Sin(gamma);
        return
        [
            ca * cg - sa * cb * sg, -ca * sg - sa * cb * cg, sa * sb,
            sa * cg + ca * cb * sg, -sa * sg + ca * cb * cg, -ca * sb,
            sb * sg, sb * cg, cb,
        ];
    }
}
