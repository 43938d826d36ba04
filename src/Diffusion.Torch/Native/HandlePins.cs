namespace Diffusion.Torch.Native;

/// <summary>
/// Keeps tensors' native handles alive (DangerousAddRef) while their raw pointers are inside a
/// native call that takes a tensor list; <see cref="Release"/> drops every reference taken.
/// Reused across calls so an optimizer step allocates nothing.
/// </summary>
internal sealed class HandlePins
{
    private readonly List<TensorHandle> pinned = new();

    /// <summary>Writes the raw handles of <paramref name="tensors"/> into <paramref name="raw"/> from <paramref name="offset"/>; null stays null.</summary>
    public void Pin(IReadOnlyList<Tensor?> tensors, IntPtr[] raw, int offset)
    {
        for (var k = 0; k < tensors.Count; k++)
        {
            if (tensors[k] is not { } t)
            {
                raw[offset + k] = IntPtr.Zero;
                continue;
            }
            var handle = t.Handle; // throws ObjectDisposedException for a disposed tensor
            var ok = false;
            handle.DangerousAddRef(ref ok);
            pinned.Add(handle);
            raw[offset + k] = handle.DangerousGetHandle();
        }
    }

    public void Release()
    {
        foreach (var h in pinned) h.DangerousRelease();
        pinned.Clear();
    }
}
