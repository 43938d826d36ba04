using System.Text.Json.Serialization;

namespace Diffusion.Torch.Optim;

/// <summary>
/// Hyperparameters of one parameter group. Each optimizer has its own record
/// (<see cref="SGDOptions"/>, <see cref="AdamOptions"/>); change one with <c>with</c>:
/// <c>defaults with { lr = 1e-4 }</c>. Serialises to JSON with a <c>kind</c> discriminator.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(SGDOptions), "sgd")]
[JsonDerivedType(typeof(AdamOptions), "adam")]
public abstract record OptimizerOptions
{
    public abstract double lr { get; init; }

    public double weight_decay { get; init; }

    /// <summary>Ascend the gradient instead of descending it.</summary>
    public bool maximize { get; init; }

    /// <summary>Every problem with these values (empty when valid).</summary>
    public virtual IEnumerable<string> Errors()
    {
        if (!(lr >= 0)) yield return $"lr={lr} must be >= 0";
        if (!(weight_decay >= 0)) yield return $"weight_decay={weight_decay} must be >= 0";
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every error.</summary>
    internal void Validate(string where)
    {
        var errors = Errors().ToList();
        if (errors.Count > 0) throw new ArgumentException($"{where}: {string.Join("; ", errors)}");
    }
}
