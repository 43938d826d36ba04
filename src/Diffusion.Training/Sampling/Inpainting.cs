using System.Globalization;
using Diffusion.Torch;
using Diffusion.Training.Names;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Sampling;

/// <summary>The shapes of <c>--mask</c> (1 = known, 0 = to fill).</summary>
public enum MaskKind { Center, LeftHalf, Random }

/// <summary>
/// A mask recipe, parsed once at the edge: <c>center</c> (a centred box over half of each spatial dimension is unknown),
/// <c>left-half</c> (the left half of the last dimension is unknown), <c>random:P</c> (each pixel / voxel unknown with
/// probability P, drawn from the generator, shared across channels). For vectors (N, D) the coordinates are the
/// "spatial" dimension.
/// </summary>
public sealed record MaskSpec(MaskKind Kind, double P = 0)
{
    public static readonly NameList<MaskKind> Names = new("mask",
        new(MaskKind.Center, "center", "a centred box covering half of each spatial dimension is unknown", "centre"),
        new(MaskKind.LeftHalf, "left-half", "the left half (last dimension) is unknown", "left"),
        new(MaskKind.Random, "random", "random:P — each pixel/voxel unknown with probability P"));

    /// <summary><c>center</c>, <c>left-half</c> or <c>random:P</c> with 0 &lt; P &lt; 1; otherwise an error naming <paramref name="where"/>.</summary>
    public static MaskSpec Parse(string text, string where)
    {
        var parts = text.Split(':', 2);
        var kind = Names.Parse(parts[0], where);
        if (kind != MaskKind.Random)
            return parts.Length == 1 ? new MaskSpec(kind) : throw new ArgumentException($"{where}: '{text}': only random takes a parameter (random:P)");
        if (parts.Length == 1 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) || !(p > 0 && p < 1))
            throw new ArgumentException($"{where}: '{text}': random needs a probability 0 < P < 1, as random:0.5");
        return new MaskSpec(kind, p);
    }

    public override string ToString() => Kind == MaskKind.Random ? $"random:{P.ToString(CultureInfo.InvariantCulture)}" : Names.Name(Kind);

    /// <summary>The mask (float, same shape as data (N, C, …) or (N, D)); only <c>random</c> draws from <paramref name="generator"/>.</summary>
    public Tensor Make(long[] shape, Generator generator)
    {
        if (shape.Length < 2) throw new ArgumentException($"a mask needs (N, …) data, got [{string.Join(", ", shape)}]");
        using var scope = torch.NewDisposeScope();
        // Spatial dimensions: those after the channel one; plain vectors (N, D) use D.
        var first = shape.Length == 2 ? 1 : 2;
        Tensor mask;
        switch (Kind)
        {
            case MaskKind.Center:
                mask = torch.ones(shape);
                var box = mask;
                for (var d = first; d < shape.Length; d++)
                {
                    var length = shape[d];
                    var size = Math.Max(1, length / 2);
                    box = box.narrow(d, (length - size) / 2, size);
                }
                box.fill_(0);
                break;
            case MaskKind.LeftHalf:
                mask = torch.ones(shape);
                var last = shape.Length - 1;
                mask.narrow(last, 0, Math.Max(1, shape[last] / 2)).fill_(0);
                break;
            default:
                var drawShape = (long[])shape.Clone();
                if (first == 2) drawShape[1] = 1;
                mask = (torch.rand(drawShape, generator) >= P).to(ScalarType.Float32).expand(shape).contiguous();
                break;
        }
        return mask.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Inpainting / imputation with an unconditional continuous-SDE score model: score_sde's controllable-generation
/// inpainter (Song et al. 2021, App. I.2; yang-song/score_sde_pytorch, <c>controllable_generation.py</c>,
/// <c>get_pc_inpainter</c>). From x = m·x_known + (1 − m)·prior, on the PC grid t_k = linspace(1, ε, steps), each
/// step runs the Langevin corrector, then the reverse-diffusion predictor, on the whole x, and after each of them
/// replaces the known region by a fresh draw of the forward marginal of x_known at the current t:
/// x ← m·(α(t)·x_known + σ(t)·z) + (1 − m)·x. The result is the last predictor's mean (denoise), whose known region is,
/// as in score_sde's x_mean, α(ε)·x_known — x_known up to 1 − α(ε) (VP: ≈ 5e-5; VE: exactly).
/// </summary>
public static class Inpainting
{
    /// <summary>
    /// Fills the region where <paramref name="mask"/> is 0 of <paramref name="known"/> (N, …); <paramref name="mask"/>
    /// broadcasts to it (1 = known). <paramref name="correctorSteps"/> = 0 leaves the predictor alone. No gradients,
    /// one step's tensors alive at a time.
    /// </summary>
    public static SampleResult Inpaint(ForwardSde sde, ScoreFn score, Tensor known, Tensor mask, int steps, Generator generator,
        double snr = 0.16, int correctorSteps = 1, double eps = 1e-3)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least two steps");
        var shape = known.shape;
        var reverse = sde.Reverse(score);
        var times = TimeGrid.Linspace(ForwardSde.T, eps, steps - 1);
        using var noGrad = torch.no_grad();
        Tensor x, m, keep;
        using (var scope = torch.NewDisposeScope())
        {
            m = mask.to(known.dtype).expand(shape).contiguous().DetachFromDisposeScope();
            keep = (-m + 1).DetachFromDisposeScope();
            x = (m * known + keep * sde.PriorSample(shape, generator).to(known.dtype)).DetachFromDisposeScope();
        }
        Tensor? mean = null;
        var nfe = 0;
        foreach (var t in times)
        {
            using var scope = torch.NewDisposeScope();
            var tt = torch.full([shape[0]], t, known.dtype);
            var alpha = ForwardSde.Broadcast(sde.MeanCoefficient(tt), known);
            var sigma = ForwardSde.Broadcast(sde.Std(tt), known);
            Tensor Replace(Tensor state) => keep * state + m * (alpha * known + sigma * torch.randn(shape, generator, known.dtype));

            for (var c = 0; c < correctorSteps; c++, nfe++)
                x = State.Replace(x, Replace(PredictorCorrector.Langevin(sde, score, x, tt, steps, snr, generator)));

            var (f, g) = reverse.Discretize(x, tt, steps);
            nfe++;
            var predicted = x - f;
            var m2 = (keep * predicted + m * alpha * known).DetachFromDisposeScope();
            mean?.Dispose();
            mean = m2;
            x = State.Replace(x, Replace(predicted + ForwardSde.Broadcast(g, x) * torch.randn(shape, generator, known.dtype)));
        }
        x.Dispose();
        m.Dispose();
        keep.Dispose();
        return new SampleResult(mean!, nfe, []);
    }

    /// <summary>Root-mean-square of <paramref name="a"/> − <paramref name="b"/> over the entries where <paramref name="weight"/> is 1 (NaN if none).</summary>
    public static double Rmse(Tensor a, Tensor b, Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        var w = weight.to(ScalarType.Float64).expand(a.shape);
        var count = w.sum().to(ScalarType.Float64).item<double>();
        return count == 0 ? double.NaN : Math.Sqrt(((a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).square() * w).sum().to(ScalarType.Float64).item<double>() / count);
    }
}
