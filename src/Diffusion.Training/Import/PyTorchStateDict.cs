using Diffusion.Architectures;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;

namespace Diffusion.Training.Import;

/// <summary>
/// Reads a PyTorch state dict (a <c>torch.save</c> zip, through the restricted <see cref="TorchCheckpoint"/> reader) into
/// one of our models whose parameter names are the official ones: DiT (facebookresearch/DiT's released
/// DiT-XL-2-256x256.pt is such a plain state dict), the DDPM U-Net in diffusers' names (a UNet2DModel's
/// diffusion_pytorch_model.bin), U-ViT (libs/uvit.py). <paramref name="key"/> picks a dict inside a training checkpoint
/// (<c>ema</c>, <c>model</c>, <c>state.ema</c>). Every missing, unexpected or mis-shaped tensor is named in one error.
/// The process is DDPM's linear β 1e-4 → 0.02 over 1000 steps (DiT's and Ho et al.'s); a learned-σ DiT's variance
/// channels are not used by our samplers (DiT's own DDIM sampling ignores them too).
/// </summary>
public static class PyTorchStateDict
{
    /// <summary>DataParallel/DistributedDataParallel checkpoints prefix every name with this.</summary>
    private const string WrapperPrefix = "module.";

    public static ImportedModel Read(string file, ModelConfig config, string? key = null)
    {
        var source = key is null ? Path.GetFullPath(file) : $"{Path.GetFullPath(file)} [{key}]";
        var notes = new List<string>();
        using var scope = torch.NewDisposeScope();
        var loaded = TorchCheckpoint.Load(file, key);
        if (loaded.Count > 0 && loaded.Keys.All(k => k.StartsWith(WrapperPrefix, StringComparison.Ordinal)))
        {
            loaded = loaded.ToDictionary(p => p.Key[WrapperPrefix.Length..], p => p.Value);
            notes.Add($"every name began with '{WrapperPrefix}' (a DataParallel wrapper): stripped");
        }
        using var init = new Generator(0);
        using var model = config.Build(init);
        WeightCopy.Load(model.Parameters, loaded, source);
        var weights = WeightCopy.Named(model.Parameters).ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope());
        notes.Add("process: DDPM, linear β 1e-4 → 0.02 over 1000 steps (the official training setup of DiT and DDPM)");
        var training = ImportedModel.DdpmLinear with { Data = new DataRef.Path(Path.GetFullPath(file)) };
        return new ImportedModel(source, config, training, weights, model.Parameters.Count(), notes);
    }
}
