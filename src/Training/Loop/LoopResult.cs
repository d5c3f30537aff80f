namespace Contrastive.Training;

/// <summary>How a loop ended.</summary>
/// <param name="Checkpoint">The last checkpoint written (null when no step was taken).</param>
/// <param name="Interrupted">Stopped before the run's end: a stop request or <see cref="TrainingOptions.UntilStep"/>.</param>
/// <param name="MeanLoss">Mean loss of the last 20 steps.</param>
/// <param name="WaitShare">Share of the loop's wall time spent waiting for batches (input bound: near 1).</param>
/// <param name="BadSamples">Bad samples skipped in the data trained on (before the last batch's cursor).</param>
/// <param name="Diversity">How mixed the batches trained on were.</param>
public sealed record LoopResult(string? Checkpoint, bool Interrupted, double Seconds, double? MeanLoss, double WaitShare, long BadSamples,
    IReadOnlyDictionary<string, long> BadByShard, ReadCursor? Cursor, DiversityReport Diversity);
