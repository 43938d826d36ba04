using Xunit;
using Diffusion.Torch.Tests.Ops;

namespace Diffusion.Torch.Tests;

/// <summary>Comparisons of tensors with expected values: exact for integers and bools, close for floats.</summary>
public static class TensorAssert
{
    /// <summary>|a − e| ≤ atol + rtol·|e| elementwise (float tolerances follow the dtype).</summary>
    public static void Close(double[] expected, double[] actual, double rtol = 1e-5, double atol = 1e-6, string context = "")
    {
        Assert.True(expected.Length == actual.Length, $"{context}: expected {expected.Length} values, got {actual.Length}");
        for (var k = 0; k < expected.Length; k++)
        {
            var ok = Math.Abs(actual[k] - expected[k]) <= atol + rtol * Math.Abs(expected[k]);
            Assert.True(ok, $"{context}: element {k} is {actual[k]:R}, expected {expected[k]:R}");
        }
    }

    public static void Close(double[] expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6) =>
        Close(expected, Values(actual), rtol, atol, actual.ToString());

    /// <summary>The elements of any tensor as doubles (through a float64 copy).</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.to(ScalarType.Float64);
        return d.ToArray<double>();
    }

    public static void Matches(FixtureTensor expected, Tensor actual, string context)
    {
        Assert.Equal(expected.Shape, actual.shape);
        Assert.Equal(expected.Type, actual.dtype);
        var values = Values(actual);
        if (expected.Type.IsFloatingPoint() && expected.Type is ScalarType.Float32 or ScalarType.Float64)
            Close(expected.Values, values, context: context);
        else
            Assert.Equal(expected.Values, values); // integers, bools and half-precision conversions are exact
    }
}
