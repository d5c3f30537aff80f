namespace Contrastive.Host;

/// <summary>A training run's figures at one step, from its metrics.jsonl.</summary>
internal sealed record TrainingPoint(long Step, double Seconds, double? Loss, double? LearningRate, double? SamplesPerSec, double? Starvation);
