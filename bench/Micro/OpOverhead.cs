using BenchmarkDotNet.Attributes;
using Diffusion.Blocks;
using Diffusion.Primitives;
using Diffusion.Torch;
using F = Diffusion.Torch.torch.nn.functional;

namespace Diffusion.Bench.Micro;

/// <summary>
/// What one call through the binding costs on top of libtorch's own dispatch: a tiny elementwise op
/// (all overhead), a small linear layer, the activations on an MLP's hidden layer, and a ResBlock forward (many ops per call). Compare with
/// bench/op_overhead.py, which times the same calls from PyTorch.
/// </summary>
[MemoryDiagnoser]
public class OpOverhead
{
    private Generator g = null!;
    private Tensor a = null!, b = null!, x = null!, w = null!, bias = null!, image = null!, temb = null!, hidden = null!;
    private ResBlockPlan plan = null!;
    private Params res = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        g = new Generator(0);
        a = torch.randn([4], g).DetachFromDisposeScope();
        b = torch.randn([4], g).DetachFromDisposeScope();
        x = torch.randn([64, 128], g).DetachFromDisposeScope();
        w = torch.randn([128, 128], g).DetachFromDisposeScope();
        bias = torch.randn([128], g).DetachFromDisposeScope();
        plan = ResBlock.Plan(new ResBlockConfig(32, 32, new Spatial(16, 16), 128)).OrThrow();
        res = Params.Init(plan.Module, g);
        image = torch.randn([4, 32, 16, 16], g).DetachFromDisposeScope();
        temb = torch.randn([4, 128], g).DetachFromDisposeScope();
        hidden = torch.randn([1024, 128], g).DetachFromDisposeScope();
    }

    [Benchmark(Description = "add (4 elements)")]
    public void SmallAdd()
    {
        using var c = a.add(b);
    }

    [Benchmark(Description = "add_ in place (4 elements)")]
    public void SmallAddInPlace() => a.add_(b);

    [Benchmark(Description = "linear 64x128 -> 128")]
    public void LinearLayer()
    {
        using var y = F.linear(x, w, bias);
    }

    // The activations run on the shim's own vectorised kernels (native/src/kernels.cpp); PyTorch runs ATen's.
    [Benchmark(Description = "silu 1024x128")]
    public void Silu()
    {
        using var y = F.silu(hidden);
    }

    [Benchmark(Description = "gelu tanh 1024x128")]
    public void GeluTanh()
    {
        using var y = F.gelu(hidden, "tanh");
    }

    [Benchmark(Description = "ResBlock forward 4x32x16x16")]
    public void ResBlockForward()
    {
        using var scope = torch.NewDisposeScope();
        ResBlock.Forward(plan, res, image, temb);
    }
}
