using Diffusion.Architectures;
using Diffusion.Tests;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Losses;
using Diffusion.Training.Sampling;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;
using Xunit;
using Xunit.Abstractions;

namespace Diffusion.Training.Tests.Schedules;

/// <summary>
/// EDM's preconditioning and loss against Fixtures/edm_precond.py, the transcription of NVlabs/edm's EDMPrecond and
/// EDMLoss, wrapping the same mlp-seed weights on the same inputs, σ and noise (σ_data 0.5 and 0.8).
/// </summary>
public sealed class EdmParityTests(ITestOutputHelper output)
{
    private static readonly float[] Sigmas = [0.002f, 0.03f, 0.5f, 1f, 2.5f, 17f, 80f, 140f];

    private sealed record Case(Tensor D, Tensor Loss, Tensor TheirD, Tensor TheirLoss);

    private static Case Run(double sigmaData, ulong seed)
    {
        var dir = Support.TempDir($"edm-parity-{sigmaData}");
        var config = Presets.Get("mlp-seed");
        using var init = new Generator(seed);
        using var model = config.Build(init);
        using var g = new Generator(seed + 1);
        var n = Sigmas.Length;
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = torch.randn([n, 2], g) * torch.tensor(Sigmas).unsqueeze(1),
            ["sigma"] = torch.tensor(Sigmas),
            ["sigma_data"] = torch.tensor(new[] { (float)sigmaData }),
            ["y"] = torch.randn([n, 2], g) * 0.7,
            ["rnd_normal"] = torch.randn([n], g) * 1.5,
            ["noise"] = torch.randn([n, 2], g),
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());
        Safetensors.Save(Path.Combine(dir, "weights.safetensors"), model.Parameters.Named().ToDictionary(p => p.Name, p => p.Tensor));
        Safetensors.Save(Path.Combine(dir, "inputs.safetensors"), inputs);
        PythonProcess.Succeed(TimeSpan.FromMinutes(2), Path.Combine(AppContext.BaseDirectory, "Fixtures", "edm_precond.py"), dir);
        var theirs = Safetensors.Load(Path.Combine(dir, "theirs.safetensors"));

        using var noGrad = torch.no_grad();
        var edm = new EdmPreconditioning(sigmaData);
        NetworkFn f = (x, t) => model.Predict(x, t);
        var d = edm.Denoise(f, inputs["x"], inputs["sigma"]);
        var loss = new EdmLoss(edm).Elementwise(f, inputs["y"], inputs["rnd_normal"], inputs["noise"]);
        return new Case(d, loss, theirs["d"], theirs["loss"]);
    }

    private double Compare(string what, Tensor ours, Tensor theirs)
    {
        Assert.Equal(theirs.shape, ours.shape);
        var worst = RelativeError.Max(ours.contiguous().ToArray<float>(), theirs.contiguous().ToArray<float>());
        output.WriteLine($"{what}: max |ours - theirs| / (|theirs| + rms(theirs)) = {worst:E3} over {theirs.numel()} elements");
        return worst;
    }

    [PythonTorchTheory]
    [InlineData(0.5, 3UL)]
    [InlineData(0.8, 4UL)]
    public void The_wrapper_and_the_loss_match_NVlabs_edm(double sigmaData, ulong seed)
    {
        using var scope = torch.NewDisposeScope();
        var c = Run(sigmaData, seed);
        Assert.True(Compare("D(x; σ)", c.D, c.TheirD) <= RelativeError.Tolerance);
        Assert.True(Compare("λ(σ)·(D − y)²", c.Loss, c.TheirLoss) <= RelativeError.Tolerance);
    }

    /// <summary>The coefficients of Table 1 at σ = σ_d (c_skip = ½, c_out = c_in·σ_d² = σ_d/√2) and the weight λ = 2/σ_d².</summary>
    [Fact]
    public void The_coefficients_are_Table_1s()
    {
        using var scope = torch.NewDisposeScope();
        var edm = new EdmPreconditioning(0.5);
        var (skip, output, input, noise) = edm.Coefficients(torch.tensor(new[] { 0.5 }));
        Assert.Equal(0.5, skip.item<double>(), 12);
        Assert.Equal(0.5 / Math.Sqrt(2), output.item<double>(), 12);
        Assert.Equal(1 / (0.5 * Math.Sqrt(2)), input.item<double>(), 12);
        Assert.Equal(Math.Log(0.5) / 4, noise.item<double>(), 12);
        Assert.Equal(2 / 0.25, edm.LossWeight(torch.tensor(new[] { 0.5 })).item<double>(), 10);
    }

    /// <summary>
    /// Through the process's time (what every sampler, the likelihood and the inpainter see), the network of an EDM
    /// model is D(x; σ(t)) itself: the σ-space denoiser matches the wrapper at σ, and the process's σ(t) spans 0.002 … 80.
    /// </summary>
    [Fact]
    public void Samplers_see_the_preconditioned_denoiser_at_the_process_sigma()
    {
        using var scope = torch.NewDisposeScope();
        using var init = new Generator(5);
        using var model = Presets.Get("mlp-seed").Build(init);
        using var noGrad = torch.no_grad();
        var process = DiffusionProcess.Edm();
        var schedule = SigmaSchedule.For(process);
        Assert.Equal(EdmPreconditioning.SigmaMin, schedule.SigmaMin, 12);
        Assert.Equal(EdmPreconditioning.SigmaMax, schedule.SigmaMax, 9);
        NetworkFn f = (x, t) => model.Predict(x, t);
        var denoiser = Denoisers.From(f, Prediction.Epsilon, process);                 // the model's own target is not used
        using var g = new Generator(6);
        foreach (var sigma in new[] { 0.002, 0.1, 1.0, 30.0, 80.0 })
        {
            var x = torch.randn([16, 2], g) * sigma;
            var direct = process.Preconditioning!.Denoise(f, x, torch.full([16], sigma));
            var viaTime = denoiser(x, sigma);
            // The samplers' generic x₀ → ε → x₀ conversion, x − σ·(x − D)/σ, rounds at float32 on the scale of x (~σ).
            var error = (viaTime - direct).abs().max().item<float>();
            var bound = 1e-5 * direct.abs().max().item<float>() + 1e-6 * x.abs().max().item<float>();
            Assert.True(error <= bound, $"σ = {sigma}: the process-time denoiser differs from D(x; σ) by {error:E2} > {bound:E2}");
        }
    }
}
