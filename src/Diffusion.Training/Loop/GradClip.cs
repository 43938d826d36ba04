using Diffusion.Torch;

namespace Diffusion.Training.Loop;

public static class GradClip
{
    /// <summary>
    /// The total L2 norm of every gradient taken together; when it exceeds <paramref name="maxNorm"/> every gradient
    /// is scaled by maxNorm/(norm + 1e-6) (as torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
    /// </summary>
    public static double ClipByTotalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToArray();
        if (grads.Length == 0) return 0;
        var total = torch.stack(grads.Select(g => g.square().sum()).ToArray()).sum().sqrt().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            var coefficient = maxNorm / (total + 1e-6);
            foreach (var g in grads) g.mul_(coefficient);
        }
        return total;
    }
}
