using Diffusion.Torch;

namespace Diffusion.Primitives;

/// <summary>Whether a tensor trains, is a frozen parameter (counted as PyTorch counts <c>parameters()</c>), or is a buffer.</summary>
public enum ParamKind
{
    Trainable,

    /// <summary><c>nn.Parameter(..., requires_grad=False)</c>: score_sde's Fourier frequencies, DiT's pos_embed.</summary>
    Frozen,

    /// <summary>A registered buffer (BatchNorm's running statistics): in the state_dict, not a parameter.</summary>
    Buffer,
}

/// <summary>
/// One tensor a module owns: its name in the state_dict, its shape, how it is drawn, and its kind. An empty name is the
/// module's tensor itself — a bare <c>nn.Parameter</c> attribute such as DiT's <c>pos_embed</c>.
/// </summary>
public sealed record ParamSpec(string Name, long[] Shape, Fill Fill, ParamKind Kind = ParamKind.Trainable)
{
    public long Count => Shape.Aggregate(1L, (a, b) => checked(a * b));
}

/// <summary>How a tensor's initial values are drawn. Every draw takes its generator explicitly.</summary>
public abstract record Fill
{
    /// <summary>U(−Bound, Bound).</summary>
    public sealed record Uniform(double Bound) : Fill;

    /// <summary>N(0, Std²).</summary>
    public sealed record Normal(double Std) : Fill;

    public sealed record Constant(double Value) : Fill;

    /// <summary>Fixed values in row-major order (a sine-cosine position table), computed only when drawn.</summary>
    public sealed record Table(Func<float[]> Values) : Fill;

    public static readonly Fill Zero = new Constant(0), One = new Constant(1);

    /// <summary>A fresh tensor of <paramref name="shape"/>, outside any dispose scope (its <see cref="Params"/> owns it).</summary>
    public Tensor Draw(long[] shape, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        var t = this switch
        {
            Uniform u => torch.empty(shape).uniform_(-u.Bound, u.Bound, g),
            Normal n => torch.empty(shape).normal_(0, n.Std, g),
            Constant c => torch.full(shape, c.Value),
            Table v => torch.tensor(v.Values(), shape),
            _ => throw new ArgumentOutOfRangeException(nameof(Fill), this, "unknown fill"),
        };
        return t.DetachFromDisposeScope();
    }
}
