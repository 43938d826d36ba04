using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Elementwise arithmetic with broadcasting, comparisons and in-place updates.
public sealed partial class Tensor
{
    // Op names for error messages, computed once so the hot path allocates nothing.
    private static readonly string[] UnaryNames = Enum.GetNames<UnaryOp>().Select(n => n.ToLowerInvariant()).ToArray();
    private static readonly string[] BinaryNames = Enum.GetNames<BinaryOp>().Select(n => n.ToLowerInvariant()).ToArray();

    internal Tensor Unary(UnaryOp op) => Wrap(dt_unary(op, Handle, out var r), r, UnaryNames[(int)op], this);

    internal Tensor UnaryInPlace(UnaryOp op)
    {
        var status = dt_unary_(op, Handle);
        if (status != 0) Throw(status, UnaryNames[(int)op] + "_", this);
        return this;
    }

    internal Tensor Binary(BinaryOp op, Tensor other) =>
        Wrap(dt_binary(op, Handle, other.Handle, out var r), r, BinaryNames[(int)op], this, other);

    internal Tensor Binary(BinaryOp op, Scalar other) =>
        Wrap(dt_binary_scalar(op, Handle, other, out var r), r, BinaryNames[(int)op], this);

    internal static Tensor Binary(BinaryOp op, Scalar a, Tensor b) =>
        Wrap(dt_scalar_binary(op, a, b.Handle, out var r), r, BinaryNames[(int)op], b);

    internal Tensor BinaryInPlace(BinaryOp op, Tensor other)
    {
        var status = dt_binary_(op, Handle, other.Handle);
        if (status != 0) Throw(status, BinaryNames[(int)op] + "_", this, other);
        return this;
    }

    internal Tensor BinaryInPlace(BinaryOp op, Scalar other)
    {
        var status = dt_binary_scalar_(op, Handle, other);
        if (status != 0) Throw(status, BinaryNames[(int)op] + "_", this);
        return this;
    }

    public Tensor neg() => Unary(UnaryOp.Neg);
    public Tensor abs() => Unary(UnaryOp.Abs);
    public Tensor exp() => Unary(UnaryOp.Exp);
    public Tensor exp2() => Unary(UnaryOp.Exp2);
    public Tensor log() => Unary(UnaryOp.Log);
    public Tensor log2() => Unary(UnaryOp.Log2);
    public Tensor log1p() => Unary(UnaryOp.Log1p);
    public Tensor expm1() => Unary(UnaryOp.Expm1);
    public Tensor sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor sin() => Unary(UnaryOp.Sin);
    public Tensor cos() => Unary(UnaryOp.Cos);
    public Tensor tanh() => Unary(UnaryOp.Tanh);
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor relu() => Unary(UnaryOp.Relu);
    public Tensor sign() => Unary(UnaryOp.Sign);
    public Tensor floor() => Unary(UnaryOp.Floor);
    public Tensor ceil() => Unary(UnaryOp.Ceil);
    public Tensor round() => Unary(UnaryOp.Round);
    public Tensor trunc() => Unary(UnaryOp.Trunc);
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor square() => Unary(UnaryOp.Square);
    public Tensor erf() => Unary(UnaryOp.Erf);
    public Tensor logical_not() => Unary(UnaryOp.LogicalNot);
    public Tensor isnan() => Unary(UnaryOp.IsNan);
    public Tensor isfinite() => Unary(UnaryOp.IsFinite);

    public Tensor neg_() => UnaryInPlace(UnaryOp.Neg);
    public Tensor abs_() => UnaryInPlace(UnaryOp.Abs);
    public Tensor exp_() => UnaryInPlace(UnaryOp.Exp);
    public Tensor log_() => UnaryInPlace(UnaryOp.Log);
    public Tensor sqrt_() => UnaryInPlace(UnaryOp.Sqrt);
    public Tensor rsqrt_() => UnaryInPlace(UnaryOp.Rsqrt);
    public Tensor sigmoid_() => UnaryInPlace(UnaryOp.Sigmoid);
    public Tensor tanh_() => UnaryInPlace(UnaryOp.Tanh);
    public Tensor relu_() => UnaryInPlace(UnaryOp.Relu);
    public Tensor silu_() => UnaryInPlace(UnaryOp.Silu);
    public Tensor square_() => UnaryInPlace(UnaryOp.Square);
    public Tensor reciprocal_() => UnaryInPlace(UnaryOp.Reciprocal);

    public Tensor add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor add(Scalar other) => Binary(BinaryOp.Add, other);

    /// <summary>this + alpha·other.</summary>
    public Tensor add(Tensor other, Scalar alpha) =>
        Wrap(dt_add_scaled(Handle, other.Handle, alpha, out var r), r, "add", this, other);

    public Tensor sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor sub(Scalar other) => Binary(BinaryOp.Sub, other);
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor mul(Scalar other) => Binary(BinaryOp.Mul, other);
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor div(Scalar other) => Binary(BinaryOp.Div, other);
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor pow(Scalar exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor remainder(Tensor other) => Binary(BinaryOp.Remainder, other);
    public Tensor remainder(Scalar other) => Binary(BinaryOp.Remainder, other);
    public Tensor floor_divide(Tensor other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor floor_divide(Scalar other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor atan2(Tensor other) => Binary(BinaryOp.Atan2, other);
    public Tensor logical_and(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor logical_or(Tensor other) => Binary(BinaryOp.LogicalOr, other);

    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor eq(Scalar other) => Binary(BinaryOp.Eq, other);
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor ne(Scalar other) => Binary(BinaryOp.Ne, other);
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor lt(Scalar other) => Binary(BinaryOp.Lt, other);
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor le(Scalar other) => Binary(BinaryOp.Le, other);
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor gt(Scalar other) => Binary(BinaryOp.Gt, other);
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor ge(Scalar other) => Binary(BinaryOp.Ge, other);

    public Tensor add_(Tensor other) => BinaryInPlace(BinaryOp.Add, other);
    public Tensor add_(Scalar other) => BinaryInPlace(BinaryOp.Add, other);

    public Tensor add_(Tensor other, Scalar alpha)
    {
        Check(dt_add_scaled_(Handle, other.Handle, alpha), "add_", this, other);
        return this;
    }

    public Tensor sub_(Tensor other) => BinaryInPlace(BinaryOp.Sub, other);
    public Tensor sub_(Scalar other) => BinaryInPlace(BinaryOp.Sub, other);
    public Tensor mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);
    public Tensor mul_(Scalar other) => BinaryInPlace(BinaryOp.Mul, other);
    public Tensor div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other);
    public Tensor div_(Scalar other) => BinaryInPlace(BinaryOp.Div, other);
    public Tensor pow_(Scalar exponent) => BinaryInPlace(BinaryOp.Pow, exponent);

    /// <summary>this += value · a ⊙ b.</summary>
    public Tensor addcmul_(Tensor a, Tensor b, Scalar value)
    {
        Check(dt_addcmul_(Handle, a.Handle, b.Handle, value), "addcmul_", this, a, b);
        return this;
    }

    /// <summary>this += value · a ⊘ b.</summary>
    public Tensor addcdiv_(Tensor a, Tensor b, Scalar value)
    {
        Check(dt_addcdiv_(Handle, a.Handle, b.Handle, value), "addcdiv_", this, a, b);
        return this;
    }

    /// <summary>this += weight · (end − this).</summary>
    public Tensor lerp_(Tensor end, Scalar weight)
    {
        Check(dt_lerp_(Handle, end.Handle, weight), "lerp_", this, end);
        return this;
    }

    public Tensor copy_(Tensor source)
    {
        Check(dt_copy_(Handle, source.Handle), "copy_", this, source);
        return this;
    }

    public Tensor zero_()
    {
        Check(dt_zero_(Handle), "zero_", this);
        return this;
    }

    public Tensor fill_(Scalar value)
    {
        Check(dt_fill_(Handle, value), "fill_", this);
        return this;
    }

    public unsafe Tensor clamp(Scalar? min = null, Scalar? max = null)
    {
        Scalar lo = min ?? 0, hi = max ?? 0;
        return Wrap(dt_clamp(Handle, min.HasValue ? &lo : null, max.HasValue ? &hi : null, out var r), r, "clamp", this);
    }

    public unsafe Tensor clamp_(Scalar? min = null, Scalar? max = null)
    {
        Scalar lo = min ?? 0, hi = max ?? 0;
        Check(dt_clamp_(Handle, min.HasValue ? &lo : null, max.HasValue ? &hi : null), "clamp_", this);
        return this;
    }

    public Tensor masked_fill(Tensor mask, Scalar value) =>
        Wrap(dt_masked_fill(Handle, mask.Handle, value, out var r), r, "masked_fill", this, mask);

    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        Check(dt_allclose(Handle, other.Handle, rtol, atol, out var r), "allclose", this, other);
        return r != 0;
    }

    /// <summary>Same shape and the same elements, exactly.</summary>
    public bool equal(Tensor other)
    {
        Check(dt_equal(Handle, other.Handle, out var r), "equal", this, other);
        return r != 0;
    }

    public Tensor matmul(Tensor other) => Wrap(dt_matmul(Handle, other.Handle, out var r), r, "matmul", this, other);
    public Tensor bmm(Tensor other) => Wrap(dt_bmm(Handle, other.Handle, out var r), r, "bmm", this, other);
    public Tensor outer(Tensor other) => Wrap(dt_outer(Handle, other.Handle, out var r), r, "outer", this, other);

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
    public static Tensor operator +(Scalar a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
    public static Tensor operator -(Scalar a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
    public static Tensor operator *(Scalar a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
    public static Tensor operator /(Scalar a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor operator %(Tensor a, Tensor b) => a.remainder(b);
    public static Tensor operator %(Tensor a, Scalar b) => a.remainder(b);
    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator <(Tensor a, Tensor b) => a.lt(b);
    public static Tensor operator >(Tensor a, Tensor b) => a.gt(b);
    public static Tensor operator <=(Tensor a, Tensor b) => a.le(b);
    public static Tensor operator >=(Tensor a, Tensor b) => a.ge(b);
    public static Tensor operator <(Tensor a, Scalar b) => a.lt(b);
    public static Tensor operator >(Tensor a, Scalar b) => a.gt(b);
    public static Tensor operator <=(Tensor a, Scalar b) => a.le(b);
    public static Tensor operator >=(Tensor a, Scalar b) => a.ge(b);
    public static Tensor operator &(Tensor a, Tensor b) => a.logical_and(b);
    public static Tensor operator |(Tensor a, Tensor b) => a.logical_or(b);
    public static Tensor operator !(Tensor a) => a.logical_not();
}
