namespace Contrastive.Ingest;

/// <summary>One sequence: its channels (each the same length) and its label (<see cref="Sample.NoLabel"/> for none).</summary>
public sealed record SeriesRow(float[][] Channels, long Label);
