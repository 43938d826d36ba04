using Diffusion.Training.Names;

namespace Diffusion.Training.Data;

/// <summary>The data sets known by name: the 2-D toy sets, the 3-D phantoms and Fashion-MNIST.</summary>
public enum DataSet { Moons, SwissRoll, EightGaussians, Checkerboard, Circles, Phantom3d, FashionMnist, Gaussian }

public static class DataSets
{
    /// <summary>The names of <c>--data</c> and training.json's <c>data</c> (which may also hold a path).</summary>
    public static readonly NameList<DataSet> Names = new("data set",
        new(DataSet.Moons, "moons", "two interleaving half circles (sklearn make_moons, noise 0.05); x in [-1, 2], y in [-0.5, 1]"),
        new(DataSet.SwissRoll, "swissroll", "2-D swiss roll (sklearn make_swiss_roll, x and z, noise 0.5) divided by 7: mean ≈ (0.1, 0.1), std ≈ 1"),
        new(DataSet.EightGaussians, "8gaussians", "8 Gaussians on a circle of radius 2√2, std 0.5/√2 (FFJORD)"),
        new(DataSet.Checkerboard, "checkerboard", "uniform on 8 alternate squares of a 4×4 checkerboard over [-4, 4]², incl. the one at (-4, -4) (FFJORD)"),
        new(DataSet.Circles, "circles", "two concentric circles, radii 1 and 0.5 (sklearn make_circles, factor 0.5, noise 0.05)"),
        new(DataSet.Gaussian, "gaussian", "correlated 2-D Gaussian N((0.5, -0.25), 0.25·[[1, 0.8], [0.8, 1]]); entropy 0.940757 nats (closed-form NLL target)"),
        new(DataSet.Phantom3d, "phantom3d", "1×32³ synthetic volumes for the 3-D U-Nets"),
        new(DataSet.FashionMnist, "fashion-mnist", "Fashion-MNIST 28×28 images, 10 classes ($DIFFUSION_FASHION_MNIST or the Debian path)"));
}
