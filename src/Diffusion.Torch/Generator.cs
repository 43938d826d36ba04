using Diffusion.Torch.Native;
using static Diffusion.Torch.Native.NativeMethods;

namespace Diffusion.Torch;

/// <summary>
/// A seeded random-number generator (libtorch's CPU Philox/MT generator). Every random op takes
/// one explicitly, so a seed reproduces tensors bit for bit; its state can be saved and restored.
/// </summary>
public sealed class Generator : IDisposable
{
    internal readonly GeneratorHandle Handle;

    public Generator(ulong seed)
    {
        Tensor.Check(dt_generator_new(seed, out var g), "Generator");
        Handle = new GeneratorHandle(g);
    }

    internal static readonly GeneratorHandle Null = new(IntPtr.Zero);

    internal GeneratorHandle Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
            return Handle;
        }
    }

    public ulong initial_seed()
    {
        Tensor.Check(dt_generator_seed(Live, out var s), "initial_seed");
        return s;
    }

    public Generator manual_seed(ulong seed)
    {
        Tensor.Check(dt_generator_manual_seed(Live, seed), "manual_seed");
        return this;
    }

    /// <summary>The full generator state (as torch.Generator.get_state()).</summary>
    public byte[] get_state()
    {
        Tensor.Check(dt_generator_get_state(Live, out var s), "get_state");
        using var state = new Tensor(s).DetachFromDisposeScope();
        return state.ToArray<byte>();
    }

    public void set_state(byte[] state)
    {
        using var t = torch.tensor(state, [state.Length]).DetachFromDisposeScope();
        Tensor.Check(dt_generator_set_state(Live, t.Handle), "set_state", t);
    }

    public void Dispose() => Handle.Dispose();
}
