namespace Contrastive.Training;

/// <summary>A periodic status of a running loop, for a progress display or a log line.</summary>
/// <param name="Step">Optimizer steps taken (counting those before a resume).</param>
/// <param name="Epoch">The epoch of the last batch trained on.</param>
/// <param name="MeanLoss">Mean loss of the last 20 steps.</param>
/// <param name="SamplesPerSecond">Samples trained per second since the previous status.</param>
/// <param name="WaitShare">Share of the time since the previous status that the loop waited for a batch (0–1).</param>
/// <param name="Progress">Share of the run done, by whichever of the step and time limits is nearer (null with neither).</param>
/// <param name="EtaSeconds">Seconds left at the current rate (null with no limit).</param>
/// <param name="Input">The input side's own figures since the previous status (<see cref="IBatchSource.Describe"/>), or null.</param>
/// <param name="Diversity">How mixed the batches have been so far (labels per batch against uniform sampling, largest share from one read unit).</param>
public sealed record LoopStatus(long Step, int Epoch, double MeanLoss, double LearningRate, double SamplesPerSecond, double WaitShare, double? Progress,
    double? EtaSeconds, double Seconds, long BadSamples, string? Input, DiversityReport Diversity);
