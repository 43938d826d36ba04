namespace Diffusion.Torch.Optim;

/// <summary>
/// Parameters that share hyperparameters. <see cref="lr"/> is settable between steps
/// (schedulers, warm-up); the next <c>step()</c> uses the new value.
/// </summary>
public abstract class ParamGroup
{
    private protected ParamGroup(IEnumerable<Tensor> parameters)
    {
        @params = parameters.ToArray();
        for (var k = 0; k < @params.Count; k++)
            if (!@params[k].is_leaf) throw new ArgumentException($"param {k} ({@params[k].Describe()}) is not a leaf tensor: an optimizer can only update leaves");
    }

    public IReadOnlyList<Tensor> @params { get; }

    public abstract double lr { get; set; }
}

/// <summary>A parameter group of an optimizer whose hyperparameters are <typeparamref name="TOptions"/>.</summary>
public sealed class ParamGroup<TOptions> : ParamGroup where TOptions : OptimizerOptions
{
    private TOptions current;

    public ParamGroup(IEnumerable<Tensor> parameters, TOptions options) : base(parameters)
    {
        options.Validate(typeof(TOptions).Name);
        current = options;
    }

    /// <summary>The group's hyperparameters; a new value is validated before it replaces the old.</summary>
    public TOptions options
    {
        get => current;
        set
        {
            value.Validate(typeof(TOptions).Name);
            current = value;
        }
    }

    public override double lr
    {
        get => current.lr;
        set => options = (TOptions)((OptimizerOptions)current with { lr = value });
    }
}
