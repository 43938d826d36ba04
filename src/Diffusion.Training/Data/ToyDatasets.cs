using Diffusion.Torch;

namespace Diffusion.Training.Data;

/// <summary>
/// The 2-D toy distributions of the score-matching literature, as iid samplers: each call returns
/// (n, 2) float32 points drawn only from the given generator, so a seed reproduces them bit for bit.
/// Shapes follow scikit-learn (make_moons, make_circles, make_swiss_roll) and FFJORD's
/// <c>toy_data.py</c> (8gaussians, checkerboard) — Grathwohl et al. 2019.
/// </summary>
public static class ToyDatasets
{
    // The samplers of the toy sets; their names and descriptions are in DataSets.Names.
    private static readonly Dictionary<DataSet, Func<int, Generator, Tensor>> Table = new()
    {
        [DataSet.Moons] = Moons,
        [DataSet.SwissRoll] = SwissRoll,
        [DataSet.EightGaussians] = EightGaussians,
        [DataSet.Checkerboard] = Checkerboard,
        [DataSet.Circles] = Circles,
        [DataSet.Gaussian] = Gaussian,
    };

    /// <summary>The toy sets, in the order the CLI lists them.</summary>
    public static IReadOnlyList<DataSet> Sets { get; } = DataSets.Names.Entries.Select(e => e.Value).Where(Table.ContainsKey).ToArray();

    /// <summary>n iid points of the toy distribution: (n, 2) float32 on the CPU.</summary>
    public static Tensor Sample(DataSet set, int n, Generator g)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var sample = Table.TryGetValue(set, out var s) ? s
            : throw new ArgumentException($"{DataSets.Names.Name(set)} is not a 2-D toy set; those are {string.Join(", ", Sets.Select(DataSets.Names.Name))}", nameof(set));
        using var scope = torch.NewDisposeScope();
        var points = sample(n, g); // (n, 2)
        return scope.MoveToOuter(points);
    }

    /// <summary>Whether a training run's data is a 2-D toy set (fresh points can be drawn for metrics and plots).</summary>
    public static bool IsToy(DataRef data) => data is DataRef.Named { Set: var set } && Table.ContainsKey(set);

    /// <summary>
    /// sklearn's make_moons with random angles: half the points (n // 2) on the outer arc
    /// (cos θ, sin θ), the rest on the inner arc (1 − cos θ, 1 − sin θ − 0.5), θ ~ U[0, π],
    /// plus N(0, 0.05²) noise; rows are then shuffled so any prefix is an iid-like batch.
    /// </summary>
    private static Tensor Moons(int n, Generator g)
    {
        var nOut = n / 2;
        var theta = torch.rand([n], g).mul(Math.PI); // (n)
        var cos = theta.cos();
        var sin = theta.sin();
        var isInner = torch.arange(n).ge(nOut); // (n) bool: the last n − n//2 rows
        var x = torch.where(isInner, 1 - cos, cos);
        var y = torch.where(isInner, 0.5 - sin, sin);
        var points = torch.stack([x, y], 1); // (n, 2)
        points = points.add(torch.randn([n, 2], g).mul(0.05));
        return Shuffle(points, g);
    }

    /// <summary>
    /// sklearn's make_swiss_roll projected on (x, z): t = 1.5π(1 + 2u), (t cos t, t sin t) plus
    /// N(0, 0.5²) noise, divided by 7 so each coordinate has std ≈ 1 (E[t²]/2 ≈ 48 ≈ 7²).
    /// </summary>
    private static Tensor SwissRoll(int n, Generator g)
    {
        var t = torch.rand([n], g).mul(2).add(1).mul(1.5 * Math.PI); // (n)
        var points = torch.stack([t.mul(t.cos()), t.mul(t.sin())], 1); // (n, 2)
        points = points.add(torch.randn([n, 2], g).mul(0.5));
        return points.div(7.0);
    }

    /// <summary>
    /// FFJORD's 8gaussians: centres 4·(cos kπ/4, sin kπ/4), k ~ U{0..7}, plus N(0, 0.5²), all
    /// divided by 1.414 — modes on a circle of radius 2.83 with std 0.354.
    /// </summary>
    private static Tensor EightGaussians(int n, Generator g)
    {
        var k = torch.randint(0, 8, [n], g).to(ScalarType.Float32); // (n)
        var angle = k.mul(Math.PI / 4);
        var centres = torch.stack([angle.cos(), angle.sin()], 1).mul(4.0); // (n, 2)
        var points = centres.add(torch.randn([n, 2], g).mul(0.5));
        return points.div(1.414);
    }

    /// <summary>
    /// FFJORD's checkerboard: x1 ~ U[−2, 2); x2 ~ U[0, 1) − 2·U{0, 1}, shifted up by floor(x1) mod 2;
    /// both scaled by 2, so the support is 8 squares of side 2 tiling [−4, 4]² alternately.
    /// </summary>
    private static Tensor Checkerboard(int n, Generator g)
    {
        var x1 = torch.rand([n], g).mul(4).sub(2); // (n)
        var x2 = torch.rand([n], g).sub(torch.randint(0, 2, [n], g).to(ScalarType.Float32).mul(2));
        x2 = x2.add(x1.floor().remainder(2));
        return torch.stack([x1, x2], 1).mul(2); // (n, 2)
    }

    /// <summary>
    /// sklearn's make_circles(factor=0.5) with random angles: n // 2 points on the unit circle,
    /// the rest on the circle of radius 0.5, θ ~ U[0, 2π), plus N(0, 0.05²); rows shuffled.
    /// </summary>
    private static Tensor Circles(int n, Generator g)
    {
        var nOut = n / 2;
        var theta = torch.rand([n], g).mul(2 * Math.PI); // (n)
        var radius = torch.where(torch.arange(n).ge(nOut), torch.full([n], 0.5), torch.ones([n])); // (n)
        var points = torch.stack([theta.cos().mul(radius), theta.sin().mul(radius)], 1); // (n, 2)
        points = points.add(torch.randn([n, 2], g).mul(0.05));
        return Shuffle(points, g);
    }

    /// <summary>Mean μ of the <c>gaussian</c> set.</summary>
    public static readonly double[] GaussianMean = [0.5, -0.25];

    /// <summary>Covariance Σ = 0.25·[[1, 0.8], [0.8, 1]] of the <c>gaussian</c> set (std 0.5 per axis, correlation 0.8), row-major.</summary>
    public static readonly double[,] GaussianCovariance = { { 0.25, 0.2 }, { 0.2, 0.25 } };

    /// <summary>
    /// Differential entropy of the <c>gaussian</c> set, ½·log((2πe)²·|Σ|) with |Σ| = 0.0225: 0.940757… nats, the
    /// expected NLL of its own points under the true density (the target of <c>diffusion likelihood</c>).
    /// </summary>
    public static double GaussianEntropy
    {
        get
        {
            var det = GaussianCovariance[0, 0] * GaussianCovariance[1, 1] - GaussianCovariance[0, 1] * GaussianCovariance[1, 0];
            return Math.Log(2 * Math.PI * Math.E) + 0.5 * Math.Log(det);
        }
    }

    /// <summary>−log N(x; μ, Σ) of the <c>gaussian</c> set per point of x (N, 2), in float64: the true NLL of those points.</summary>
    public static double[] GaussianNll(Tensor x)
    {
        var p = x.to(ScalarType.Float64).ToArray<double>();
        var (s11, s12, s22) = (GaussianCovariance[0, 0], GaussianCovariance[0, 1], GaussianCovariance[1, 1]);
        var det = s11 * s22 - s12 * s12;
        var nll = new double[p.Length / 2];
        for (var i = 0; i < nll.Length; i++)
        {
            var r1 = p[2 * i] - GaussianMean[0];
            var r2 = p[2 * i + 1] - GaussianMean[1];
            nll[i] = 0.5 * (s22 * r1 * r1 - 2 * s12 * r1 * r2 + s11 * r2 * r2) / det + 0.5 * Math.Log(det) + Math.Log(2 * Math.PI);
        }
        return nll;
    }

    /// <summary>
    /// The correlated Gaussian N(μ, Σ): x = μ + L·z with z ~ N(0, I) and the Cholesky factor L = 0.5·[[1, 0], [0.8, 0.6]]
    /// (L·Lᵀ = Σ).
    /// </summary>
    private static Tensor Gaussian(int n, Generator g)
    {
        var z = torch.randn([n, 2], g); // (n, 2)
        var z1 = z.select(1, 0);
        var z2 = z.select(1, 1);
        var x1 = z1.mul(0.5).add(GaussianMean[0]);
        var x2 = z1.mul(0.4).add(z2.mul(0.3)).add(GaussianMean[1]);
        return torch.stack([x1, x2], 1);
    }

    private static Tensor Shuffle(Tensor points, Generator g) => points.index_select(0, torch.randperm(points.size(0), g));
}
