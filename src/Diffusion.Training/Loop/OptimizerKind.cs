using Diffusion.Training.Names;

namespace Diffusion.Training.Loop;

/// <summary>The optimizer of a training run.</summary>
public enum OptimizerKind { Adam, AdamW }

public static class OptimizerKinds
{
    /// <summary>The names of training.json's <c>optimizer</c>.</summary>
    public static readonly NameList<OptimizerKind> Names = new("optimizer",
        new(OptimizerKind.Adam, "adam", "Adam, L2 weight decay"),
        new(OptimizerKind.AdamW, "adamw", "AdamW, decoupled weight decay"));
}
