using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Architectures;
using Diffusion.Blocks;
using Diffusion.Torch;
using Diffusion.Torch.Serialization;
using Diffusion.Training.Data;
using Diffusion.Training.Loop;
using Diffusion.Training.Schedules;
using Diffusion.Training.Sde;

namespace Diffusion.Training.Import;

/// <summary>Every setting of a foreign checkpoint that this library cannot represent, one line each (key: value — why).</summary>
public sealed class UnrepresentableException(string source, IReadOnlyList<string> problems)
    : Exception($"{source}: cannot import ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):\n" + string.Join("\n", problems))
{
    public string Origin { get; } = source;

    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// A model read from another library's checkpoint: the mapped configs and the weights, loaded into (and named and shaped as)
/// the model built from <see cref="Model"/>. The caller disposes it (it owns the weights).
/// </summary>
public sealed record ImportedModel(string Source, ModelConfig Model, TrainingConfig Training, IReadOnlyDictionary<string, Tensor> Weights,
    long ParameterCount, IReadOnlyList<string> Notes) : IDisposable
{
    /// <summary>The process of Ho et al.'s DDPM and of DiT: linear β 1e-4 → 0.02 over 1000 steps.</summary>
    public static TrainingConfig DdpmLinear => new() { Sde = ProcessKind.Ddpm, Schedule = BetaSchedule.Linear };

    public void Dispose()
    {
        foreach (var t in Weights.Values) t.Dispose();
    }
}

/// <summary>
/// Reads a diffusers <c>UNet2DModel</c> folder (config.json + diffusion_pytorch_model.safetensors, and the pipeline's
/// scheduler/scheduler_config.json one level up when present) into our <see cref="UNetConfig"/> and the DDPM process the
/// weights were trained for. Every config value we cannot represent exactly is listed (key and value) in one
/// <see cref="UnrepresentableException"/>; nothing is silently ignored. Our U-Net's parameter names follow diffusers', so the
/// weights load by name (every name and shape checked).
/// </summary>
public static class DiffusersUNet
{
    public const string ConfigFile = "config.json", WeightsFile = "diffusion_pytorch_model.safetensors", SchedulerConfigFile = "scheduler_config.json";

    /// <summary>The keys of UNet2DModel's config (diffusers @ 58eb52c) and the one value each accepts where it must stay at its default.</summary>
    private static readonly Dictionary<string, JsonNode?> Defaults = new()
    {
        ["time_embedding_act_fn"] = null, ["downsample_type"] = "conv", ["upsample_type"] = "conv", ["attn_norm_num_groups"] = null,
        ["mid_block_scale_factor"] = 1, ["resnet_out_scale_factor"] = 1, ["resnet_time_scale_shift"] = "default", ["act_fn"] = "silu",
        ["center_input_sample"] = false, ["class_embed_type"] = null, ["num_class_embeds"] = null,
    };

    private static readonly string[] Mapped =
    [
        "sample_size", "in_channels", "out_channels", "block_out_channels", "layers_per_block", "down_block_types", "up_block_types",
        "add_attention", "attention_head_dim", "norm_num_groups", "norm_eps", "downsample_padding", "time_embedding_type", "flip_sin_to_cos",
        "freq_shift", "dropout", "time_embedding_dim", "num_train_timesteps",
    ];

    private static readonly string[] SchedulerTraining = ["beta_schedule", "beta_start", "beta_end", "num_train_timesteps", "prediction_type", "trained_betas"];

    /// <summary>DDPM/DDIM/PNDM… settings that only steer sampling; <c>diffusion sample</c> makes its own choices (--sampler, --steps).</summary>
    private static readonly string[] SchedulerSamplingOnly =
    [
        "variance_type", "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset", "skip_prk_steps", "thresholding",
        "dynamic_thresholding_ratio", "sample_max_value", "timestep_spacing", "rescale_betas_zero_snr", "solver_order", "algorithm_type",
        "solver_type", "lower_order_final", "use_karras_sigmas", "interpolation_type",
    ];

    /// <summary>
    /// Reads <paramref name="dir"/>: a UNet2DModel folder (holding config.json) or a pipeline folder holding <c>unet/</c>.
    /// Throws <see cref="UnrepresentableException"/> listing every problem of both configs, or an error naming each
    /// missing, unexpected or mis-shaped tensor.
    /// </summary>
    public static ImportedModel Read(string dir)
    {
        if (!File.Exists(Path.Combine(dir, ConfigFile)) && File.Exists(Path.Combine(dir, "unet", ConfigFile))) dir = Path.Combine(dir, "unet");
        var configPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"no diffusers config.json in '{dir}' (nor in '{Path.Combine(dir, "unet")}')", configPath);
        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"no {WeightsFile} next to '{configPath}' (only safetensors weights are read)", weightsPath);
        var schedulerPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, "scheduler", SchedulerConfigFile);

        var problems = new List<string>();
        var notes = new List<string>();
        var unet = MapConfig(ReadObject(configPath), problems);
        JsonObject? scheduler = File.Exists(schedulerPath) ? ReadObject(schedulerPath) : null;
        if (scheduler is null) notes.Add($"no {schedulerPath}: assuming DDPM's linear β 1e-4 → 0.02 over 1000 steps, ε-prediction");
        else notes.Add($"process from {schedulerPath}");
        var (training, target) = MapScheduler(scheduler, problems, notes);
        if (unet is not null && unet.Plan().Problems is { Count: > 0 } planProblems) problems.AddRange(planProblems.Select(p => $"mapped config: {p}"));
        if (problems.Count > 0 || unet is null) throw new UnrepresentableException(Path.GetFullPath(dir), problems);
        unet = unet with { Target = target };
        training = training with { Data = new DataRef.Path(Path.GetFullPath(dir)) };

        using var init = new Generator(0);
        using var model = unet.Build(init);
        using (var scope = torch.NewDisposeScope())
            WeightCopy.Load(model.Parameters, Safetensors.Load(weightsPath), weightsPath);
        var weights = WeightCopy.Named(model.Parameters).ToDictionary(p => p.Key, p => p.Value.clone());
        foreach (var t in weights.Values) t.DetachFromDisposeScope();
        return new ImportedModel(Path.GetFullPath(dir), unet, training, weights, model.Parameters.Count(), notes);
    }

    /// <summary>Maps a UNet2DModel config.json; throws listing every key we cannot represent (with its value).</summary>
    public static UNetConfig MapConfig(JsonObject config)
    {
        var problems = new List<string>();
        var mapped = MapConfig(config, problems);
        if (problems.Count > 0 || mapped is null) throw new UnrepresentableException(ConfigFile, problems);
        return mapped;
    }

    private static UNetConfig? MapConfig(JsonObject config, List<string> problems)
    {
        var c = Parsed(config);
        void Bad(string key, string why) => problems.Add($"{key}: {Show(c[key])} ({why})");

        foreach (var (key, _) in c)
            if (!key.StartsWith('_') && !Defaults.ContainsKey(key) && !Mapped.Contains(key)) Bad(key, "unknown UNet2DModel setting");
        if (Str(c, "_class_name") is var cls && cls != "UNet2DModel") problems.Add($"_class_name: {Show(c["_class_name"])} (only UNet2DModel is read)");
        foreach (var (key, value) in Defaults)
            if (c.ContainsKey(key) && !SameValue(c[key], value) && !(key == "attn_norm_num_groups" && SameValue(c[key], c["norm_num_groups"] ?? 32)))
                Bad(key, $"only {Show(value)} is supported{(key == "num_class_embeds" ? ": our class table has an extra null-class row diffusers' lacks" : "")}");

        int? Int(string key, int? fallback)
        {
            if (!c.ContainsKey(key) || c[key] is null) return fallback;
            if (c[key] is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
            Bad(key, "expected an integer");
            return null;
        }
        double? Num(string key, double fallback)
        {
            if (!c.ContainsKey(key)) return fallback;
            if (c[key] is JsonValue v && v.TryGetValue<double>(out var d)) return d;
            Bad(key, "expected a number");
            return null;
        }
        bool? Bool(string key, bool fallback)
        {
            if (!c.ContainsKey(key)) return fallback;
            if (c[key] is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
            Bad(key, "expected true or false");
            return null;
        }
        int[]? Ints(string key, int[]? fallback)
        {
            if (!c.ContainsKey(key)) return fallback;
            if (c[key] is JsonArray a && a.All(x => x is JsonValue v && v.TryGetValue<int>(out _))) return a.Select(x => x!.GetValue<int>()).ToArray();
            Bad(key, "expected a list of integers");
            return null;
        }
        string[]? Strs(string key, string[] fallback)
        {
            if (!c.ContainsKey(key)) return fallback;
            if (c[key] is JsonArray a && a.All(x => x is JsonValue v && v.TryGetValue<string>(out _))) return a.Select(x => x!.GetValue<string>()).ToArray();
            Bad(key, "expected a list of block names");
            return null;
        }

        // UNet2DModel's own defaults where a key is absent.
        var inChannels = Int("in_channels", 3);
        var outChannels = Int("out_channels", 3);
        int[]? size = null;
        if (!c.ContainsKey("sample_size") || c["sample_size"] is null) problems.Add("sample_size: null (the image size is needed to build the model)");
        else if (c["sample_size"] is JsonValue sv && sv.TryGetValue<int>(out var s)) size = [s, s];
        else if (Ints("sample_size", null) is [var h, var w]) size = [h, w];
        else if (problems.All(p => !p.StartsWith("sample_size", StringComparison.Ordinal))) Bad("sample_size", "expected an integer or [height, width]");
        var blocks = Ints("block_out_channels", [224, 448, 672, 896]);
        var layers = Int("layers_per_block", 2);
        var down = Strs("down_block_types", ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]);
        var up = Strs("up_block_types", ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]);
        var midAttention = Bool("add_attention", true);
        var groups = Int("norm_num_groups", 32);
        var eps = Num("norm_eps", 1e-5);
        var dropout = Num("dropout", 0);
        var padding = Int("downsample_padding", 1);
        var flip = Bool("flip_sin_to_cos", true);
        var shift = Num("freq_shift", 0);
        var timeType = c.ContainsKey("time_embedding_type") ? Str(c, "time_embedding_type") : "positional";

        if (timeType != "positional")
            Bad("time_embedding_type", timeType == "fourier"
                ? "diffusers' Fourier projection embeds log(t) and divides the output by t; ours (score_sde's) embeds t as given"
                : "only \"positional\" (sinusoidal) is supported");
        DownsamplePadding? pad = padding switch
        {
            0 => DownsamplePadding.Same,
            1 => DownsamplePadding.Symmetric,
            null => null,
            _ => null,
        };
        if (padding is not null and not (0 or 1)) Bad("downsample_padding", "only 0 (TF 'same') and 1 (symmetric) are supported");
        if (c.ContainsKey("num_train_timesteps") && c["num_train_timesteps"] is not null && !SameValue(c["num_train_timesteps"], 1000))
            Bad("num_train_timesteps", "our DDPM process has 1000 steps");

        int channels = 0;
        int[] mult = [];
        if (blocks is { Length: > 0 })
        {
            channels = blocks[0];
            if (channels <= 0 || blocks.Any(b => b <= 0 || b % channels != 0)) Bad("block_out_channels", $"every entry must be a positive multiple of the first ({channels})");
            else mult = blocks.Select(b => b / channels).ToArray();
        }
        else if (blocks is not null) Bad("block_out_channels", "need at least one level");

        int? timeMult = 4;
        if (c.ContainsKey("time_embedding_dim") && c["time_embedding_dim"] is not null)
        {
            timeMult = Int("time_embedding_dim", null) is { } td && channels > 0 && td % channels == 0 && td > 0 ? td / channels : null;
            if (timeMult is null && problems.All(p => !p.StartsWith("time_embedding_dim", StringComparison.Ordinal)))
                Bad("time_embedding_dim", $"must be a multiple of block_out_channels[0] ({channels})");
        }

        // Attention levels: the up list must mirror the down list.
        var attentionLevels = new List<int>();
        if (down is not null && up is not null && blocks is not null)
        {
            if (down.Length != blocks.Length) Bad("down_block_types", $"{down.Length} blocks for {blocks.Length} block_out_channels");
            if (up.Length != down.Length) Bad("up_block_types", $"{up.Length} blocks for {down.Length} down blocks");
            for (var i = 0; i < down.Length; i++)
            {
                var attn = down[i] switch { "DownBlock2D" => false, "AttnDownBlock2D" => true, _ => (bool?)null };
                if (attn is null) { problems.Add($"down_block_types[{i}]: \"{down[i]}\" (only DownBlock2D and AttnDownBlock2D are supported)"); continue; }
                if (attn == true) attentionLevels.Add(i);
                if (up.Length != down.Length) continue;
                var j = down.Length - 1 - i;
                var expected = attn == true ? "AttnUpBlock2D" : "UpBlock2D";
                if (up[j] != expected)
                    problems.Add(up[j] is "UpBlock2D" or "AttnUpBlock2D"
                        ? $"up_block_types[{j}]: \"{up[j]}\" (must mirror down_block_types[{i}] \"{down[i]}\": {expected})"
                        : $"up_block_types[{j}]: \"{up[j]}\" (only UpBlock2D and AttnUpBlock2D are supported)");
            }
        }

        // Heads: diffusers gives each attention block channels / attention_head_dim heads (1 head when null); we have one count.
        var heads = 1;
        if (c.ContainsKey("attention_head_dim") && c["attention_head_dim"] is not null && blocks is not null)
        {
            if (Int("attention_head_dim", null) is { } headDim && headDim > 0)
            {
                var widths = attentionLevels.Where(i => i < blocks.Length).Select(i => blocks[i]).ToList();
                if (midAttention == true && blocks.Length > 0) widths.Add(blocks[^1]);
                var counts = widths.Select(w => w % headDim == 0 ? w / headDim : -1).Distinct().ToList();
                if (counts.Count > 1 || counts.Contains(-1))
                    Bad("attention_head_dim", $"gives {string.Join(", ", widths.Select(w => w % headDim == 0 ? $"{w / headDim}" : $"{w}/{headDim}"))} heads at the attention blocks; we need one head count everywhere");
                else if (counts.Count == 1) heads = counts[0];
            }
            else if (problems.All(p => !p.StartsWith("attention_head_dim", StringComparison.Ordinal))) Bad("attention_head_dim", "expected a positive integer or null");
        }

        if (problems.Count > 0 || size is null || inChannels is null || outChannels is null || layers is null || midAttention is null || groups is null
            || eps is null || dropout is null || pad is null || flip is null || shift is null || timeMult is null)
            return null;
        var top = Math.Max(size[0], size[1]);
        return new UNetConfig
        {
            InChannels = inChannels.Value,
            OutChannels = outChannels.Value,
            Size = size,
            Channels = channels,
            ChannelMult = mult,
            NumResBlocks = layers.Value,
            AttentionResolutions = attentionLevels.Select(i => top >> i).ToArray(),
            MidAttention = midAttention.Value,
            AttentionHeads = heads,
            NormGroups = groups.Value,
            NormEps = eps.Value,
            Dropout = dropout.Value,
            TimeEmbedMult = timeMult.Value,
            FlipSinToCos = flip.Value,
            FreqShift = shift.Value,
            DownsamplePadding = pad.Value,
            // The rest stays at UNetConfig's defaults, which are DDPM's layout as UNet2DModel builds it: GroupNorm,
            // sinusoidal time features, strided-conv down, nearest + conv up, concatenated skips, ε-prediction.
        };
    }

    /// <summary>
    /// The DDPM process a diffusers scheduler config describes (null: DDPM's own: linear β 1e-4 → 0.02, 1000 steps, ε).
    /// Problems (schedules or targets we lack, unknown keys) are added to <paramref name="problems"/>.
    /// </summary>
    public static (TrainingConfig Training, PredictionTarget Target) MapScheduler(JsonObject? s, List<string> problems, List<string> notes)
    {
        var training = ImportedModel.DdpmLinear;
        if (s is null) return (training, PredictionTarget.Noise);
        s = Parsed(s);
        void Bad(string key, string why) => problems.Add($"scheduler {key}: {Show(s[key])} ({why})");
        foreach (var (key, _) in s)
            if (!key.StartsWith('_') && !SchedulerTraining.Contains(key) && !SchedulerSamplingOnly.Contains(key)) Bad(key, "unknown scheduler setting");
        var ignored = s.Select(p => p.Key).Where(SchedulerSamplingOnly.Contains).ToList();
        if (ignored.Count > 0) notes.Add($"sampling-only scheduler settings not imported (diffusion sample chooses its own): {string.Join(", ", ignored)}");

        var schedule = s.ContainsKey("beta_schedule") ? Str(s, "beta_schedule") : "linear";
        if (schedule == "linear")
        {
            training = training with { Schedule = BetaSchedule.Linear };
            if (s.ContainsKey("beta_start") && !SameValue(s["beta_start"], 1e-4)) Bad("beta_start", "our linear schedule starts at 0.0001");
            if (s.ContainsKey("beta_end") && !SameValue(s["beta_end"], 0.02)) Bad("beta_end", "our linear schedule ends at 0.02");
        }
        else if (schedule == "squaredcos_cap_v2") training = training with { Schedule = BetaSchedule.Cosine };
        else Bad("beta_schedule", "only \"linear\" (β 1e-4 → 0.02) and \"squaredcos_cap_v2\" (cosine) are supported");
        if (s.ContainsKey("num_train_timesteps") && !SameValue(s["num_train_timesteps"], 1000)) Bad("num_train_timesteps", "our DDPM process has 1000 steps");
        if (s.ContainsKey("trained_betas") && s["trained_betas"] is not null) Bad("trained_betas", "only the named schedules are supported");
        var target = PredictionTarget.Noise;
        switch (s.ContainsKey("prediction_type") ? Str(s, "prediction_type") : "epsilon")
        {
            case "epsilon": break;
            case "v_prediction": target = PredictionTarget.V; break;
            default: Bad("prediction_type", "only \"epsilon\" and \"v_prediction\" are supported (we have no x₀-prediction target)"); break;
        }
        return (training, target);
    }

    private static JsonObject ReadObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException($"{path}: expected a JSON object");
        }
        catch (JsonException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new JsonException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>The object as parsed from its text: values built in code (JsonValue&lt;int&gt;) read back only as their own type.</summary>
    private static JsonObject Parsed(JsonObject o) => (JsonObject)JsonNode.Parse(o.ToJsonString())!;

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Show(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    /// <summary>JSON equality with numbers compared as numbers (1 == 1.0).</summary>
    private static bool SameValue(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is JsonValue va && b is JsonValue vb && Number(va) is { } x && Number(vb) is { } y) return x == y;
        return JsonNode.DeepEquals(a, b);
    }

    private static double? Number(JsonValue v) =>
        v.TryGetValue<double>(out var d) ? d : v.TryGetValue<int>(out var i) ? i : v.TryGetValue<long>(out var l) ? l : null;

    private static bool SameValue(JsonNode? a, double b) => SameValue(a, JsonValue.Create(b));
}
