using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

// Random tensors. Each takes an explicit generator: the same seed gives bitwise the same tensor.
public static partial class torch
{
    public static Generator manual_seed(ulong seed) => new(seed);

    private unsafe delegate int RandomFactory(long* shape, int n, Native.GeneratorHandle g, int dtype, int deviceType, int deviceIndex, out IntPtr result);

    private static unsafe Tensor Random(RandomFactory f, string op, long[] shape, Generator generator, ScalarType dtype, Device? device)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        fixed (long* p = shape)
            return Tensor.Wrap(f(p, shape.Length, generator.Live, (int)dtype, (int)d.Type, d.Index, out var r), r, $"{op}([{string.Join(", ", shape)}])");
    }

    /// <summary>Uniform on [0, 1).</summary>
    public static unsafe Tensor rand(long[] shape, Generator generator, ScalarType dtype = DefaultFloat, Device? device = null) =>
        Random(dt_rand, "rand", shape, generator, dtype, device);

    /// <summary>Standard normal.</summary>
    public static unsafe Tensor randn(long[] shape, Generator generator, ScalarType dtype = DefaultFloat, Device? device = null) =>
        Random(dt_randn, "randn", shape, generator, dtype, device);

    public static Tensor rand_like(Tensor t, Generator generator) => rand(t.shape, generator, t.dtype, t.device);

    public static Tensor randn_like(Tensor t, Generator generator) => randn(t.shape, generator, t.dtype, t.device);

    /// <summary>Integers uniform on [low, high).</summary>
    public static unsafe Tensor randint(long low, long high, long[] shape, Generator generator, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        fixed (long* p = shape)
            return Tensor.Wrap(dt_randint(low, high, p, shape.Length, generator.Live, (int)dtype, (int)d.Type, d.Index, out var r), r,
                $"randint({low}, {high}, [{string.Join(", ", shape)}])");
    }

    /// <summary>A random permutation of 0 … n−1.</summary>
    public static Tensor randperm(long n, Generator generator, Device? device = null)
    {
        var d = device ?? Device.CPU;
        EnsureDevice(d);
        return Tensor.Wrap(dt_randperm(n, generator.Live, (int)d.Type, d.Index, out var r), r, $"randperm({n})");
    }

    /// <summary>Draws 1 with probability p elementwise.</summary>
    public static Tensor bernoulli(Tensor p, Generator generator) => Tensor.Wrap(dt_bernoulli(p.Handle, generator.Live, out var r), r, "bernoulli", p);
}

public sealed partial class Tensor
{
    /// <summary>Fills with values uniform on [from, to).</summary>
    public Tensor uniform_(double from, double to, Generator generator)
    {
        Check(dt_uniform_(Handle, from, to, generator.Live), "uniform_", this);
        return this;
    }

    /// <summary>Fills with normal values of the given mean and standard deviation.</summary>
    public Tensor normal_(double mean, double std, Generator generator)
    {
        Check(dt_normal_(Handle, mean, std, generator.Live), "normal_", this);
        return this;
    }
}
