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
/// <param name="From">Resume point: in its epoch, the units before it are not read and the samples before it are not
/// yielded (a cursor of another epoch changes nothing).</param>
public readonly record struct ReadPlan(int Epoch, long Seed, bool Shuffle, HoldoutSplit Split, bool HeldOut = false, int Rank = 0, int WorldSize = 1,
    ReadCursor? From = null)
{
    /// <summary>Whether the unit at <paramref name="position"/> of the epoch's order is before <see cref="From"/>.</summary>
    public bool Skips(int position) => From is { } f && f.SkipsUnit(Epoch, position);

    /// <summary>Samples to drop from the front of a chunk of <paramref name="count"/> samples of the unit at
    /// <paramref name="position"/>, whose first sample is <paramref name="offset"/> samples into the unit.</summary>
    public int SkipCount(int count, int position, int offset) =>
        From is { } f ? Math.Clamp(f.SkipInUnit(Epoch, position) - offset, 0, count) : 0;

    /// <summary>
    /// Applies <see cref="From"/> to a chunk of the unit at <paramref name="position"/> whose first sample is
    /// <paramref name="offset"/> samples into the unit: drops the samples before the cursor (disposing the chunk when
    /// none remain: null).
    /// </summary>
    public SampleChunk? Trim(SampleChunk chunk, int position, int offset)
    {
        int skip = SkipCount(chunk.Count, position, offset);
        var result = skip > 0 ? chunk.Skip(skip) : chunk;
        if (result.Count > 0) return result;
        result.Dispose();
        return null;
    }

    /// <summary>Whether the chunk at <paramref name="position"/> of the epoch's chunk order is this rank's.</summary>
    public bool IsMine(int position)
    {
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(Rank), $"rank {Rank} is outside a world of {WorldSize}");
        return position % WorldSize == Rank;
    }
}
