using System.Security.Cryptography;
using Diffusion.Torch;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;
using static Diffusion.Training.Tests.Sampling.GaussianSamplerTests;

namespace Diffusion.Training.Tests.Sampling;

/// <summary>
/// Every sampler's output on a fixed seed, pinned bit for bit (SHA-256 of the samples and of the recorded trajectory,
/// with the NFE): refactoring the shared scaffolding (prior draw, time grid, recorder) must not change a single bit.
/// The hashes were taken from the samplers before the scaffolding was factored out.
/// </summary>
public class SamplerPinTests
{
    private static readonly double[] ContinuousTimes = [1.0, 0.5, 0.1, 0.0];
    private static readonly double[] StepTimes = [1000, 500, 100, 0];

    public static TheoryData<string, string> Pins => new()
    {
        { "em", "40:4:613D3C1A62B4DB0D" },
        { "pc", "80:4:B0CB7CAAEE62C0B4" },
        { "heun", "80:4:6B047BB40F58879B" },
        { "rk45", "56:4:1345C329111C52DE" },
        { "ve-pc", "80:4:EA29E4879D8D6852" },
        { "ddpm", "50:4:07792F2BB6470C65" },
        { "ddim", "50:4:AE081D820891E88D" },
        { "ddim-eta", "50:4:321EF32CB46EA797" },
    };

    private static SampleResult Run(string name, Generator g)
    {
        var vp = new VpSde();
        var ve = new VeSde(0.01, 50);
        var linear = DdpmSchedule.Linear();
        return name switch
        {
            "em" => EulerMaruyama.Sample(vp, ExactScore(vp), [64, 2], 40, g, recordAt: ContinuousTimes),
            "pc" => PredictorCorrector.Sample(vp, ExactScore(vp), [64, 2], 40, g, recordAt: ContinuousTimes),
            "heun" => ProbabilityFlow.Heun(vp, ExactScore(vp), [64, 2], 40, g, recordAt: ContinuousTimes),
            "rk45" => ProbabilityFlow.Rk45(vp, ExactScore(vp), [64, 2], g, rtol: 1e-4, atol: 1e-4, recordAt: ContinuousTimes),
            "ve-pc" => PredictorCorrector.Sample(ve, ExactScore(ve), [64, 2], 40, g, recordAt: ContinuousTimes),
            "ddpm" => DiscreteSamplers.Ddpm(linear, ExactNoise(linear), [64, 2], g, 50, recordAt: StepTimes),
            "ddim" => DiscreteSamplers.Ddim(linear, ExactNoise(linear), [64, 2], g, 50, recordAt: StepTimes),
            _ => DiscreteSamplers.Ddim(linear, ExactNoise(linear), [64, 2], g, 50, eta: 0.7, recordAt: StepTimes),
        };
    }

    private static string Fingerprint(SampleResult result)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(Tensor t) => hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.contiguous().ToArray<float>().AsSpan()));
        Add(result.Samples);
        foreach (var p in result.Trajectory)
        {
            hash.AppendData(BitConverter.GetBytes(p.Time));
            Add(p.X);
        }
        return $"{result.Nfe}:{result.Trajectory.Count}:{Convert.ToHexString(hash.GetHashAndReset())[..16]}";
    }

    [Theory]
    [MemberData(nameof(Pins))]
    public void A_sampler_gives_bitwise_the_pinned_samples_and_trajectory(string name, string pinned)
    {
        using var g = new Generator(2024);
        using var result = Run(name, g);
        Assert.Equal(pinned, Fingerprint(result));
    }
}
