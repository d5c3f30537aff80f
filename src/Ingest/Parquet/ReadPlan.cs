namespace Contrastive.Ingest;

/// <summary>What to read in one pass over a dataset.</summary>
/// <param name="Epoch">The epoch number; with <paramref name="Seed"/> it decides the shuffled order.</param>
/// <param name="Seed">Run seed.</param>
/// <param name="Shuffle">Shuffle row-group order and samples within each row group (false: stored order).</param>
/// <param name="Split">Held-out split applied to the samples.</param>
/// <param name="HeldOut">Read the held-out samples (true) or the others (false).</param>
public readonly record struct ReadPlan(int Epoch, long Seed, bool Shuffle, HoldoutSplit Split, bool HeldOut = false);
