using Diffusion.Architectures;
using Diffusion.Torch;
using Xunit;

namespace Diffusion.Snapshot.Tests;

[CollectionDefinition(nameof(AloneCollection), DisableParallelization = true)]
public sealed class AloneCollection;

/// <summary>
/// A summary comes from the plan's module tree: summarising every preset — 675M-parameter DiT-XL/2 included — draws
/// no weight. The caching allocator counts every buffer of 128 KiB or more it hands out (a fresh map or a reuse), so
/// a model built and freed in between would still show; run alone, so no other test allocates meanwhile.
/// </summary>
[Collection(nameof(AloneCollection))]
public class SummaryAllocationTests
{
    [Fact]
    public void Summarising_every_preset_allocates_no_tensor()
    {
        var before = torch.cpu.memory_stats();
        var total = Presets.Names.Sum(name => ModelSummary.Of(Presets.Get(name)).TotalParams);
        var after = torch.cpu.memory_stats();
        Assert.True(total > 2_000_000_000, $"the presets hold {total:N0} parameters");
        Assert.Equal(before.Maps + before.Reuses, after.Maps + after.Reuses);
        Assert.Equal(before.PeakAllocated, after.PeakAllocated);
    }
}
