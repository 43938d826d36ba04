namespace Diffusion.Training.Loop;

/// <summary>What the loop reports: step (1-based, of <paramref name="TotalSteps"/>), the last loss, throughput and ETA.</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double StepsPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>The outcome of <see cref="Trainer.Run"/>: final step and loss, the mean loss over the last 100 steps, wall time.</summary>
/// <summary>The outcome of <see cref="Trainer.Run"/>; <see cref="SkippedSteps"/> counts the non-finite steps skipped (<see cref="NonFinitePolicy.Skip"/>).</summary>
public sealed record TrainingResult(int Steps, double FinalLoss, double RecentMeanLoss, double Seconds, int SkippedSteps = 0);
