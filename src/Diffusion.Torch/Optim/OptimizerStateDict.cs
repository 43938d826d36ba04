namespace Diffusion.Torch.Optim;

/// <summary>
/// A snapshot of an optimizer's state, split so it can be stored as safetensors + JSON:
/// <see cref="tensors"/> holds every state tensor by name (<c>state.{param}.{slot}</c>, e.g.
/// <c>state.3.exp_avg</c>; params are numbered across groups in order, as in PyTorch) and
/// <see cref="metadata"/> is a plain JSON-serialisable record of the rest. The tensors are
/// copies owned by this object (and by the dispose scope they were created in).
/// </summary>
public sealed class OptimizerStateDict(IReadOnlyDictionary<string, Tensor> tensors, OptimizerMetadata metadata) : IDisposable
{
    public IReadOnlyDictionary<string, Tensor> tensors { get; } = tensors;

    public OptimizerMetadata metadata { get; } = metadata;

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
    }
}

/// <summary>The optimizer's name, its groups' hyperparameters and each stepped param's step count.</summary>
public sealed record OptimizerMetadata(string optimizer, IReadOnlyList<ParamGroupMetadata> param_groups, IReadOnlyDictionary<int, long> steps);

/// <summary>The param numbers of one group and its hyperparameters.</summary>
public sealed record ParamGroupMetadata(IReadOnlyList<int> @params, OptimizerOptions options);
