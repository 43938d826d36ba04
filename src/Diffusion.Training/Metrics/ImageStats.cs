using Diffusion.Torch;

namespace Diffusion.Training.Metrics;

/// <summary>
/// First- and second-moment agreement between generated and real image batches (N, C, H, W…):
/// the root-mean-square difference of the per-pixel means and of the per-pixel standard
/// deviations (over the batch), plus the global mean and std of each batch. A cheap sanity
/// metric for small image models — it sees mode collapse and wrong contrast, not sample quality.
/// </summary>
public sealed record ImageStats(
    double MeanRmse, double StdRmse,
    double GeneratedMean, double RealMean,
    double GeneratedStd, double RealStd)
{
    public static ImageStats Compute(Tensor generated, Tensor real)
    {
        var gs = generated.shape;
        var rs = real.shape;
        if (gs.Length < 2 || !gs.AsSpan(1).SequenceEqual(rs.AsSpan(1)))
            throw new ArgumentException($"image batches must agree in every dim but the first: {generated.Describe()} vs {real.Describe()}");
        if (gs[0] < 2 || rs[0] < 2) throw new ArgumentException("per-pixel std needs at least two images in each batch");
        using var scope = torch.NewDisposeScope();
        var g = generated.detach().to(Device.CPU, ScalarType.Float64).flatten(1); // (Ng, P)
        var r = real.detach().to(Device.CPU, ScalarType.Float64).flatten(1);      // (Nr, P)
        var meanRmse = g.mean(0).sub(r.mean(0)).square().mean().sqrt().item<double>();
        var stdRmse = g.std(0).sub(r.std(0)).square().mean().sqrt().item<double>();
        return new ImageStats(meanRmse, stdRmse, g.mean().item<double>(), r.mean().item<double>(), g.std().item<double>(), r.std().item<double>());
    }

    public override string ToString() =>
        $"per-pixel mean RMSE {MeanRmse:F4}, per-pixel std RMSE {StdRmse:F4}; mean {GeneratedMean:F3} vs {RealMean:F3}, std {GeneratedStd:F3} vs {RealStd:F3}";
}
