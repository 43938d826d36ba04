namespace Diffusion.Torch.Optim;

// Saving and restoring state: a loaded optimizer continues bit for bit like the one saved.
public abstract partial class Optimizer<TOptions>
{
    /// <summary>A copy of the state (see <see cref="OptimizerStateDict"/>); the caller disposes it.</summary>
    public OptimizerStateDict state_dict()
    {
        ThrowIfDisposed();
        var tensors = new Dictionary<string, Tensor>();
        var steps = new SortedDictionary<int, long>();
        var groupMeta = new List<ParamGroupMetadata>();
        var index = 0;
        try
        {
            foreach (var (group, state) in groups.Zip(states))
            {
                var ids = new int[group.@params.Count];
                for (var i = 0; i < ids.Length; i++, index++)
                {
                    ids[i] = index;
                    if (CountsSteps && state.Steps[i] > 0) steps[index] = state.Steps[i];
                    for (var s = 0; s < SlotNames.Count; s++)
                        if (state.Slots[s][i] is { } t) tensors[$"state.{index}.{SlotNames[s]}"] = t.clone();
                }
                groupMeta.Add(new ParamGroupMetadata(ids, group.options));
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return new OptimizerStateDict(tensors, new OptimizerMetadata(name, groupMeta, steps));
    }

    /// <summary>
    /// Replaces the state and the groups' hyperparameters with copies of <paramref name="state"/>'s
    /// (cast to each param's dtype and device). Everything is checked first — optimizer, group and
    /// param counts, names, shapes, complete per-param state — and every problem is reported at once;
    /// on failure nothing changes.
    /// </summary>
    public void load_state_dict(OptimizerStateDict state)
    {
        ThrowIfDisposed();
        var meta = state.metadata;
        var errors = new List<string>();
        if (meta.optimizer != name) errors.Add($"the state was saved by {meta.optimizer}, this optimizer is {name}");
        if (meta.param_groups.Count != groups.Count)
            throw Fail([.. errors, $"the state has {meta.param_groups.Count} param groups, this optimizer has {groups.Count}"]);

        // Saved param numbers map to this optimizer's params by position, as in PyTorch.
        var where = new Dictionary<int, (int group, int index, int number)>();
        var number = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            var saved = meta.param_groups[g];
            if (saved.@params.Count != groups[g].@params.Count)
                errors.Add($"param group {g}: the state has {saved.@params.Count} params, this optimizer has {groups[g].@params.Count}");
            if (saved.options is not TOptions)
                errors.Add($"param group {g}: options are {saved.options.GetType().Name}, {name} needs {typeof(TOptions).Name}");
            else
                errors.AddRange(saved.options.Errors().Select(e => $"param group {g}: {e}"));
            for (var i = 0; i < Math.Min(saved.@params.Count, groups[g].@params.Count); i++, number++)
                if (!where.TryAdd(saved.@params[i], (g, i, number))) errors.Add($"param {saved.@params[i]} appears twice in the state's param groups");
        }

        var loaded = new Dictionary<(int group, int index), Dictionary<string, Tensor>>();
        foreach (var (key, tensor) in state.tensors)
        {
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], out var id) || !SlotNames.Contains(parts[2]))
            {
                errors.Add($"'{key}' is not a {name} state tensor (expected state.<param>.<{string.Join("|", SlotNames)}>)");
                continue;
            }
            if (!where.TryGetValue(id, out var at))
            {
                errors.Add($"'{key}' names param {id}, which is in no param group");
                continue;
            }
            var param = groups[at.group].@params[at.index];
            if (!tensor.shape.SequenceEqual(param.shape))
                errors.Add($"'{key}' has shape [{string.Join(", ", tensor.shape)}] but param {at.number} (group {at.group}, index {at.index}) has shape [{string.Join(", ", param.shape)}]");
            if (!loaded.TryGetValue((at.group, at.index), out var slots)) loaded[(at.group, at.index)] = slots = new();
            slots[parts[2]] = tensor;
        }
        foreach (var (id, step) in meta.steps)
        {
            if (!where.ContainsKey(id)) errors.Add($"steps name param {id}, which is in no param group");
            if (step <= 0) errors.Add($"param {id} has step {step}; saved steps are >= 1");
        }
        foreach (var (id, at) in where)
        {
            var hasStep = meta.steps.ContainsKey(id);
            var slots = loaded.GetValueOrDefault((at.group, at.index));
            if (!hasStep && slots is null) continue;
            if (CountsSteps && !hasStep) errors.Add($"param {id} has state tensors but no step count");
            if (meta.param_groups[at.group].options is TOptions o)
                foreach (var required in RequiredSlots(o))
                    if (slots?.ContainsKey(required) != true) errors.Add($"param {id} has state but no 'state.{id}.{required}'");
        }
        if (errors.Count > 0) throw Fail(errors);

        // Valid: copy everything before touching the live state, so a failed copy changes nothing.
        var copies = new List<(GroupState state, int slot, int index, Tensor copy)>();
        try
        {
            foreach (var ((g, i), slots) in loaded)
            {
                var param = groups[g].@params[i];
                foreach (var (slotName, tensor) in slots)
                    copies.Add((states[g], IndexOfSlot(slotName), i, tensor.to(param.device, param.dtype, copy: true).DetachFromDisposeScope()));
            }
        }
        catch
        {
            foreach (var c in copies) c.copy.Dispose();
            throw;
        }
        foreach (var s in states) s.Clear();
        foreach (var (s, slot, i, copy) in copies) s.Slots[slot][i] = copy;
        foreach (var (id, at) in where)
            if (meta.steps.TryGetValue(id, out var step)) states[at.group].Steps[at.index] = step;
        for (var g = 0; g < groups.Count; g++) groups[g].options = (TOptions)meta.param_groups[g].options;
    }

    private int IndexOfSlot(string slot)
    {
        for (var s = 0; s < SlotNames.Count; s++)
            if (SlotNames[s] == slot) return s;
        throw new ArgumentException($"{name} has no state slot '{slot}'");
    }

    private ArgumentException Fail(IEnumerable<string> errors) =>
        new($"{name}.load_state_dict: the state does not fit this optimizer:\n  " + string.Join("\n  ", errors));
}
