using System.Runtime.InteropServices;

namespace Diffusion.Torch;

/// <summary>
/// A number crossing into libtorch with its kind kept, so <c>intTensor + 2</c> stays integral
/// while <c>intTensor + 2.5</c> promotes, as in PyTorch. Layout matches the shim's DtScalar.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct Scalar
{
    private readonly double d;
    private readonly long i;
    private readonly int kind; // 0 double, 1 int64, 2 bool

    private Scalar(double d, long i, int kind) => (this.d, this.i, this.kind) = (d, i, kind);

    public static implicit operator Scalar(double v) => new(v, 0, 0);
    public static implicit operator Scalar(float v) => new(v, 0, 0);
    public static implicit operator Scalar(long v) => new(v, v, 1);
    public static implicit operator Scalar(int v) => new(v, v, 1);
    public static implicit operator Scalar(bool v) => new(v ? 1 : 0, v ? 1 : 0, 2);

    public double ToDouble() => kind == 0 ? d : i;

    public override string ToString() => kind switch { 0 => d.ToString("R"), 1 => i.ToString(), _ => (i != 0).ToString() };
}
