namespace Diffusion.Architectures;

/// <summary>
/// Named model definitions, one table (as DiT's DiT_models). Parameter counts beside each entry are the
/// published ones; tests check them exactly, and tests/Property/Architectures/Parity checks outputs against a
/// transcription of the official code named here: DDPM U-Nets against diffusers' UNet2DModel @ 58eb52c with
/// downsample_padding=0 (Ho et al.'s diffusion_tf layout), DiT against facebookresearch/DiT @ ed81ce2 models.py,
/// U-ViT against baofff/U-ViT @ ce55170 libs/uvit.py, the MLP against the seed notes' SimpleScoreNetwork.
/// </summary>
public static class Presets
{
    private static readonly Dictionary<string, Func<ModelConfig>> Table = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mlp-seed"] = () => new MlpConfig(), // 37,762
        // U-Nets (DDPM layout unless noted; see UNetPresets).
        ["ddpm-cifar10"] = () => UNetPresets.DdpmCifar10, // 35,746,307 (Ho et al. 2020)
        ["unet28"] = () => UNetPresets.UNet28, // 1,112,801
        ["unet3d32"] = () => UNetPresets.UNet3d32, // 715,185
        ["unet3d-medical"] = () => UNetPresets.UNet3dMedical, // 7,213,537
        ["seed-unet"] = () => UNetPresets.SeedUNet, // 5,953,411
        // DiT (Peebles & Xie 2023, models.py DiT_models) on 32×32×4 latents, 1000 classes + null, learned sigma.
        // Totals as sum(p.numel() for p in model.parameters()), i.e. with the frozen pos_embed (T·D); MACs per sample.
        ["dit-s-2"] = () => DiTPreset(384, 12, 6, 2),     // 32,963,360 params, 6.06 GMACs
        ["dit-s-4"] = () => DiTPreset(384, 12, 6, 4),     // 32,945,024 params, 1.41 GMACs
        ["dit-s-8"] = () => DiTPreset(384, 12, 6, 8),     // 33,148,160 params, 0.36 GMACs
        ["dit-b-2"] = () => DiTPreset(768, 12, 12, 2),    // 130,512,416 params, 23.01 GMACs
        ["dit-b-4"] = () => DiTPreset(768, 12, 12, 4),    // 130,475,648 params, 5.57 GMACs
        ["dit-b-8"] = () => DiTPreset(768, 12, 12, 8),    // 130,881,536 params, 1.42 GMACs
        ["dit-l-2"] = () => DiTPreset(1024, 24, 16, 2),   // 458,102,816 params, 80.70 GMACs
        ["dit-l-4"] = () => DiTPreset(1024, 24, 16, 4),   // 458,053,760 params, 19.70 GMACs
        ["dit-l-8"] = () => DiTPreset(1024, 24, 16, 8),   // 458,594,816 params, 5.01 GMACs
        ["dit-xl-2"] = () => DiTPreset(1152, 28, 16, 2),  // 675,129,632 params, 118.62 GMACs
        ["dit-xl-4"] = () => DiTPreset(1152, 28, 16, 4),  // 675,074,432 params, 29.04 GMACs
        ["dit-xl-8"] = () => DiTPreset(1152, 28, 16, 8),  // 675,683,072 params, 7.39 GMACs
        ["dit28"] = () => new DiTConfig(InputSize: 28, PatchSize: 4, InChannels: 1, HiddenSize: 192, Depth: 6, NumHeads: 3,
            ClassDropoutProb: 0, NumClasses: 0, LearnSigma: false), // 4,174,864 params (MNIST-sized, unconditional)
        // U-ViT-S/2 for CIFAR-10 (Bao et al. 2023; configs/cifar10_uvit.py: depth 12 = 13 blocks, dim 512, 8 heads).
        ["uvit-small"] = () => new UViTConfig(), // 44,255,328 params
    };

    private static DiTConfig DiTPreset(int hidden, int depth, int heads, int patch) =>
        new(InputSize: 32, PatchSize: patch, InChannels: 4, HiddenSize: hidden, Depth: depth, NumHeads: heads);

    public static IReadOnlyCollection<string> Names => Table.Keys;

    public static ModelConfig Get(string name) =>
        Table.TryGetValue(name, out var make) ? make()
        : throw new KeyNotFoundException($"no preset '{name}'; known presets: {string.Join(", ", Table.Keys.Order())}");

    /// <summary>A preset name, or a path to a JSON model config.</summary>
    public static ModelConfig Resolve(string presetOrPath) =>
        Table.ContainsKey(presetOrPath) ? Get(presetOrPath)
        : File.Exists(presetOrPath) ? ModelConfig.FromJson(File.ReadAllText(presetOrPath))
        : throw new KeyNotFoundException($"'{presetOrPath}' is neither a preset ({string.Join(", ", Table.Keys.Order())}) nor a JSON config file");
}
