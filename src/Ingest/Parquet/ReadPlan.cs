namespace Contrastive.Ingest;

/// <summary>What to read in one pass over a dataset.</summary>
/// <param name="Epoch">The epoch number; with <paramref name="Seed"/> it decides the shuffled order.</param>
/// <param name="Seed">Run seed.</param>
/// <param name="Shuffle">Shuffle row-group order and samples within each row group (false: stored order).</param>
/// <param name="Split">Held-out split applied to the samples.</param>
/// <param name="HeldOut">Read the held-out samples (true) or the others (false).</param>
/// <param name="Rank">This process's rank among <paramref name="WorldSize"/> readers.</param>
/// <param name="WorldSize">Readers sharing the data: each reads every WorldSize-th chunk (row group) of the epoch's
/// order, so ranks read disjoint samples and together all of them once per epoch.</param>
public readonly record struct ReadPlan(int Epoch, long Seed, bool Shuffle, HoldoutSplit Split, bool HeldOut = false, int Rank = 0, int WorldSize = 1)
{
    /// <summary>Whether the chunk at <paramref name="position"/> of the epoch's chunk order is this rank's.</summary>
    public bool IsMine(int position)
    {
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(Rank), $"rank {Rank} is outside a world of {WorldSize}");
        return position % WorldSize == Rank;
    }
}
