namespace Diffusion.Torch;

/// <summary>
/// The caching CPU allocator's counters (buffers of 128 KiB and more; see <see cref="torch.cpu"/>), like PyTorch's
/// <c>torch.cuda.memory_stats()</c>. Bytes: <paramref name="Allocated"/> in live tensors, <paramref name="Reserved"/>
/// mapped (live + cached), and the peaks of both. Counts: <paramref name="Maps"/> and <paramref name="Unmaps"/> of
/// fresh memory, <paramref name="Reuses"/> of a cached buffer. A loop whose memory is flat stops adding maps.
/// </summary>
public sealed record CpuMemoryStats(long Allocated, long Reserved, long PeakAllocated, long PeakReserved, long Maps, long Unmaps, long Reuses);
