namespace Contrastive.Ingest;

/// <summary>The shuffle buffer a plan gives on a dataset, for a start-up log line (<see cref="Text"/>) and for checks.</summary>
/// <param name="Text">One line, e.g. "shuffle buffer: up to 2,000 samples / 95 MB across 20 row groups (...)".</param>
/// <param name="Units">Read units of this rank in the epoch.</param>
/// <param name="Groups">Mixing groups they form (0 when the order is not a buffer's: no shuffle, a permutation, or the buffer off).</param>
/// <param name="MaxSamples">Most samples (before the split) one group holds at a time.</param>
/// <param name="MaxBytes">Most bytes one group holds at a time.</param>
/// <param name="MaxUnits">Most read units in one group.</param>
public sealed record ShuffleLayout(string Text, int Units, int Groups, long MaxSamples, long MaxBytes, int MaxUnits);
