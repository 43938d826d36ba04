namespace Diffusion.Torch;

/// <summary>
/// One operator's share of a <see cref="torch.profiler.measure"/> run: how often it ran, its <paramref name="Self"/> time
/// (without the operators it called) and its <paramref name="Total"/> time (with them). Names are ATen's ("aten::add"),
/// autograd nodes' ("ConvolutionBackward0", "torch::autograd::CppNode&lt;…&gt;") and the shim's kernels' ("dt::group_norm_silu").
/// </summary>
public sealed record OpStat(string Name, long Calls, TimeSpan Self, TimeSpan Total);
