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
/// A torchinfo-style model summary computed from the module tree alone (no kernels run, and from a config no weights
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
    public static ModelSummary Of(IScoreModel model, long[] inputShape, int? depth = null) => Of(model.Config, model.Module, inputShape, depth);

    /// <summary>
    /// Summarises a config from its plan's module tree: no kernel runs and no weight is allocated, whatever the model's size.
    /// Throws <see cref="ConfigException"/> when the config is invalid.
    /// </summary>
    public static ModelSummary Of(ModelConfig config, long[]? inputShape = null, int? depth = null) =>
        Of(config, config.PlanCounted().OrThrow().Module, inputShape ?? [1, .. config.InputShape], depth);

    private static ModelSummary Of(ModelConfig config, Module module, long[] inputShape, int? depth)
    {
        var perSample = config.InputShape;
        if (inputShape.Length != perSample.Length + 1 || inputShape[0] <= 0 || !inputShape.Skip(1).SequenceEqual(perSample))
            throw new ShapeException("summary", $"input [N, {string.Join(", ", perSample)}] with N ≥ 1", inputShape);
        if (depth < 0) throw new ArgumentOutOfRangeException(nameof(depth), depth, "summary: depth must be ≥ 0");
        var batch = inputShape[0];
        var layers = module.Flatten();
        var rows = layers.Where(l => depth is not { } d || l.Depth <= d)
            .Select(l => new SummaryRow(l.Path, l.Type, l.Depth, [batch, .. l.OutputShape], l.Params, l.TrainableParams, l.Macs * batch)).ToList();
        var leaf = layers.Select((l, i) => i + 1 == layers.Count || layers[i + 1].Depth <= l.Depth).ToArray();
        var activations = layers.Where((_, i) => leaf[i]).Sum(l => l.OutputShape.Aggregate(1L, (a, b) => a * b)) * batch;
        return new ModelSummary(module.Type, inputShape, depth, rows, module.ParameterCount, module.TrainableCount, module.Macs * batch,
            inputShape.Aggregate(1L, (a, b) => a * b) * BytesPerElement, module.ParameterCount * BytesPerElement, activations * BytesPerElement);
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
