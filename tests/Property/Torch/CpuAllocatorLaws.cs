using Diffusion.Torch;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Diffusion.Property.Tests.Torch;

/// <summary>The caching CPU allocator, for any sequence of tensors made and freed.</summary>
public class CpuAllocatorLaws
{
    /// <summary>The smallest buffer the caching allocator takes (native/src/allocator.cpp, kLarge).</summary>
    private const long CachedBytes = 128 << 10;

    /// <summary>A tensor of 16 KiB – 4 MiB (those under 128 KiB go to malloc), freed at once or kept to the end.</summary>
    private static readonly Gen<(int Floats, bool Keep)[]> Programs =
        (from floats in Gen.Choose(4 << 10, 1 << 20) from keep in Gen.Elements(true, false) select (floats, keep)).ArrayOf();

    /// <summary>Runs the program; true when live bytes never exceeded mapped ones.</summary>
    private static bool Run((int Floats, bool Keep)[] program)
    {
        var kept = new List<Tensor>();
        var ok = true;
        foreach (var (floats, keep) in program)
        {
            var t = torch.zeros(floats);
            var s = torch.cpu.memory_stats();
            ok &= s.Allocated <= s.Reserved && s.Allocated >= (4L * floats >= CachedBytes ? 4L * floats : 0);
            if (keep) kept.Add(t); else t.Dispose();
        }
        foreach (var t in kept) t.Dispose();
        return ok;
    }

    [Fact]
    public void Repeating_a_program_maps_nothing_new_and_frees_all_it_took()
    {
        Assert.True(torch.cpu.caching_allocator, "run without DIFFUSION_MALLOC=default");
        Tensor.SettledLiveNativeTensors(); // earlier tests' garbage is freed now, not in the middle of a case
        Law.Holds(Programs, program =>
        {
            var start = torch.cpu.memory_stats();
            var first = Run(program);
            var between = torch.cpu.memory_stats();
            var second = Run(program);
            var end = torch.cpu.memory_stats();
            var large = program.Count(p => p.Floats * 4L >= CachedBytes);
            return first && second && end.Maps == between.Maps && end.Reuses == between.Reuses + large
                   && between.Allocated == start.Allocated && end.Allocated == start.Allocated;
        }, cases: 100);
    }
}
