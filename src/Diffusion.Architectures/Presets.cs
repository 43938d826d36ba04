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
        ["dit28"] = () => new DiTConfig(InputSize: 28, PatchSize: 4, InChannels: 1, HiddenSize: 192, Depth: 6, NumHeads: 3,
            ClassDropoutProb: 0, NumClasses: 0, LearnSigma: false), // 4,174,864 params (MNIST-sized, unconditional)
        // U-ViT-S/2 for CIFAR-10 (Bao et al. 2023; configs/cifar10_uvit.py: depth 12 = 13 blocks, dim 512, 8 heads).
        ["uvit-small"] = () => new UViTConfig(), // 44,255,328 params
    };

    /// <summary>
    /// DiT_models (Peebles &amp; Xie 2023, models.py): dit-{s,b,l,xl}-{2,4,8} on 32×32×4 latents, 1000 classes + null, learned σ.
    /// Totals as sum(p.numel() for p in model.parameters()), i.e. with the frozen pos_embed (T·D), for patch 2 / 4 / 8:
    /// S 32,963,360 / 32,945,024 / 33,148,160 (6.06 / 1.41 / 0.36 GMACs per sample); B 130,512,416 / 130,475,648 / 130,881,536
    /// (23.01 / 5.57 / 1.42); L 458,102,816 / 458,053,760 / 458,594,816 (80.70 / 19.70 / 5.01); XL 675,129,632 / 675,074,432 /
    /// 675,683,072 (118.62 / 29.04 / 7.39).
    /// </summary>
    private static readonly (string Size, int Hidden, int Depth, int Heads)[] DiTSizes =
        [("s", 384, 12, 6), ("b", 768, 12, 12), ("l", 1024, 24, 16), ("xl", 1152, 28, 16)];

    static Presets()
    {
        foreach (var (size, hidden, depth, heads) in DiTSizes)
        foreach (var patch in new[] { 2, 4, 8 })
            Table[$"dit-{size}-{patch}"] = () => new DiTConfig(InputSize: 32, PatchSize: patch, InChannels: 4, HiddenSize: hidden, Depth: depth, NumHeads: heads);
    }

    public static IReadOnlyCollection<string> Names => Table.Keys;

    public static ModelConfig Get(string name) =>
        Table.TryGetValue(name, out var make) ? make()
        : throw new KeyNotFoundException($"no preset '{name}'; known presets: {string.Join(", ", Table.Keys.Order())}");

    /// <summary>A preset name, or a path to a JSON model config.</summary>
    public static ModelConfig Resolve(string presetOrPath) =>
        Table.ContainsKey(presetOrPath) ? Get(presetOrPath)
        : File.Exists(presetOrPath) ? ModelConfig.FromJson(File.ReadAllText(presetOrPath), presetOrPath)
        : throw new KeyNotFoundException($"'{presetOrPath}' is neither a preset ({string.Join(", ", Table.Keys.Order())}) nor a JSON config file");
}
