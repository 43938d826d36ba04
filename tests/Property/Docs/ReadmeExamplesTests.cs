using ReadmeExamples;
using Xunit;

namespace Diffusion.Property.Tests.Docs;

/// <summary>
/// The README's C# blocks, compiled and run, so the documentation cannot drift from the API.
/// </summary>
/// <remarks>
/// ReadmeExamples.targets (imported by this project) turns each ```csharp block of README.md into a method of
/// its own namespace and class at build time, with <c>#line</c> directives: a block that no longer compiles
/// fails the build with an error at README.md(line,column). Each block gets the usings it writes itself plus
/// one for every library namespace this project references (Diffusion.Torch, .Serialization, .Optim,
/// Diffusion.Primitives, Diffusion.Blocks, Diffusion.Architectures, Diffusion.Training.*), so a block may leave
/// them out. A block is statements (top-level-program style); it cannot declare types.
/// By default a block runs here and must finish without an exception (it may write files into the working
/// directory, the test output folder). The line before the fence can say otherwise:
/// <list type="bullet">
/// <item><c>&lt;!-- compile-only: Tensor loss, IScoreModel model --&gt;</c>: a fragment that uses things it does not
/// make; it is compiled with those as parameters, not run.</item>
/// <item><c>&lt;!-- no-test: reason --&gt;</c>: neither compiled nor run (pseudo-code); use sparingly.</item>
/// </list>
/// </remarks>
public class ReadmeExamplesTests
{
    public static TheoryData<int> RunnableBlocks() => new(ReadmeBlocks.All.Where(b => b.Run is not null).Select(b => b.Line));

    [Theory, MemberData(nameof(RunnableBlocks))]
    public void Readme_block_runs(int line)
    {
        var block = ReadmeBlocks.All.Single(b => b.Line == line);
        try
        {
            block.Run!();
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"the ```csharp block at README.md line {line} threw {e.GetType().Name}: {e.Message}\n{e}");
        }
    }

    /// <summary>A build made before README.md changed would test the old blocks: the fences must be where the build saw them.</summary>
    [Fact]
    public void Every_csharp_block_of_the_readme_was_compiled_by_this_build()
    {
        var lines = File.ReadAllLines(ReadmeBlocks.Readme);
        var fences = Enumerable.Range(0, lines.Length).Where(i => lines[i].Trim() is "```csharp" or "```cs" or "```c#").Select(i => i + 1).ToArray();
        Assert.Equal(fences, ReadmeBlocks.All.Select(b => b.Line));
        Assert.Contains(ReadmeBlocks.All, b => b.Mode == "run");
    }
}
