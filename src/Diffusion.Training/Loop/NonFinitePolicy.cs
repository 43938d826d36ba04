using Diffusion.Training.Names;

namespace Diffusion.Training.Loop;

/// <summary>What the trainer does with a step whose loss or gradient norm is NaN or infinite.</summary>
public enum NonFinitePolicy { Stop, Skip }

public static class NonFinitePolicies
{
    /// <summary>The names of training.json's <c>on_nonfinite</c>.</summary>
    public static readonly NameList<NonFinitePolicy> Names = new("non-finite policy",
        new(NonFinitePolicy.Stop, "stop", "end the run with an error naming the step and parameter; the last checkpoint stays latest"),
        new(NonFinitePolicy.Skip, "skip", "drop the step's update (no optimizer or EMA step) and go on"));
}
