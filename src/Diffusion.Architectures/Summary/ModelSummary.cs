using Diffusion.Primitives;
using Diffusion.Torch;

namespace Diffusion.Architectures;

/// <summary>
/// One summary row for a given input: the per-sample <see cref="LayerInfo"/> with the batch put in front of the
/// output shape and MACs multiplied by it; <see cref="TrainableParams"/> counts the trainable parameters at or under it.
/// </summary>
public sealed record SummaryRow(string Path, string Type, int Depth, long[] OutputShape, long Params, long TrainableParams, long Macs)
{
    /// <summary>torchinfo's column: True, False, Partial, or -- for a layer without parameters.</summary>
    public string Trainable => Params == 0 ? "--" : TrainableParams == Params ? "True" : TrainableParams == 0 ? "False" : "Partial";
}

/// <summary>
/// A torchinfo-style model summary computed from the layer tree alone (no kernels run, and from a config no weights
/// are allocated): rows to <see cref="MaxDepth"/>, and totals over the whole tree.
/// <list type="bullet">
/// <item>TotalParams counts as <c>sum(p.numel() for p in model.parameters())</c>: frozen parameters such as DiT's
/// pos_embed are in the total but not in TrainableParams; buffers (running statistics) are not parameters.</item>
/// <item>Macs: multiply-accumulates of one forward pass over the whole batch — linears, convolutions and attention's
/// QKᵀ and AV matmuls; norms, activations, softmax and additions are not counted (as fvcore and DiT's Gflops).</item>
/// <item>ActivationBytes estimates forward activation memory as Σ over leaf layers of output elements × 4 bytes
/// (float32). It ignores what autograd saves beyond layer outputs and what the allocator reuses, so read it as the
/// order of magnitude of one forward pass; training with gradients needs roughly twice that.</item>
/// </list>
/// </summary>
public sealed record ModelSummary(string Name, long[] InputShape, int? MaxDepth, IReadOnlyList<SummaryRow> Layers, long TotalParams,
    long TrainableParams, long Macs, long InputBytes, long ParamBytes, long ActivationBytes)
{
    public const int BytesPerElement = 4;

    public long NonTrainableParams => TotalParams - TrainableParams;

    /// <summary>Summarises a built model; <paramref name="inputShape"/> includes the batch, e.g. [1, 4, 32, 32].</summary>
    public static ModelSummary Of(IScoreModel model, long[] inputShape, int? depth = null) =>
        FromLayers(model.Config, model.Layers, inputShape, depth);

    /// <summary>
    /// Summarises a config without allocating its weights when it has a layer plan (DiT, U-ViT); other configs are
    /// built with a fixed seed, summarised and freed. Throws <see cref="ConfigException"/> when the config is invalid.
    /// </summary>
    public static ModelSummary Of(ModelConfig config, long[]? inputShape = null, int? depth = null)
    {
        inputShape ??= [1, .. config.InputShape];
        if (config is IHasLayerPlan planned) return FromLayers(config, planned.LayerPlan().Flatten(), inputShape, depth);
        using var g = new Generator(0);
        using var model = config.Build(g);
        return Of(model, inputShape, depth);
    }

    public static ModelSummary FromLayers(ModelConfig config, IReadOnlyList<LayerInfo> layers, long[] inputShape, int? depth = null)
    {
        var perSample = config.InputShape;
        if (inputShape.Length != perSample.Length + 1 || inputShape[0] <= 0 || !inputShape.Skip(1).SequenceEqual(perSample))
            throw new ShapeException("summary", $"input [N, {string.Join(", ", perSample)}] with N ≥ 1", inputShape);
        if (depth < 0) throw new ArgumentOutOfRangeException(nameof(depth), depth, "summary: depth must be ≥ 0");
        if (layers.Count == 0 || layers[0].Depth != 0) throw new ArgumentException("summary: the layer tree must start with the model's row at depth 0", nameof(layers));
        var batch = inputShape[0];
        var leaf = layers.Select((l, i) => i + 1 == layers.Count || layers[i + 1].Depth <= l.Depth).ToArray();
        var rows = new List<SummaryRow>();
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (depth is { } d && l.Depth > d) continue;
            var end = i + 1;
            while (end < layers.Count && layers[end].Depth > l.Depth) end++;
            var trainable = Enumerable.Range(i, end - i).Where(j => leaf[j] && layers[j].Trainable).Sum(j => layers[j].Params);
            rows.Add(new SummaryRow(l.Path, l.Type, l.Depth, [batch, .. l.OutputShape], l.Params, trainable, l.Macs * batch));
        }
        var activations = layers.Where((_, i) => leaf[i]).Sum(l => l.OutputShape.Aggregate(1L, (a, b) => a * b)) * batch;
        var root = layers[0];
        return new ModelSummary(root.Type, inputShape, depth, rows, root.Params, rows[0].TrainableParams, root.Macs * batch,
            inputShape.Aggregate(1L, (a, b) => a * b) * BytesPerElement, root.Params * BytesPerElement, activations * BytesPerElement);
    }

    public string ToText() => SummaryFormat.Text(this);

    public string ToMarkdown() => SummaryFormat.Markdown(this);

    public string ToJson() => SummaryFormat.Json(this);

    /// <summary>"text", "markdown" (or "md") or "json".</summary>
    public string Render(string format) => format.ToLowerInvariant() switch
    {
        "text" => ToText(),
        "markdown" or "md" => ToMarkdown(),
        "json" => ToJson(),
        _ => throw new ArgumentException($"unknown summary format '{format}'; use text, markdown or json", nameof(format)),
    };
}
