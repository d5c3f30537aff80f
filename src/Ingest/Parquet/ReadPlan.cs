namespace Contrastive.Ingest;

/// <summary>What to read in one pass over a dataset.</summary>
/// <param name="Epoch">The epoch number; with <paramref name="Seed"/> it decides the shuffled order.</param>
/// <param name="Seed">Run seed.</param>
/// <param name="Shuffle">Shuffle the epoch (false: stored order). An image folder or IDX file is read in a permutation of
/// all its samples; shards (Parquet row groups, tar shards) are read in a permutation of their read units, mixed through
/// the shuffle buffer (<see cref="ShuffleBufferSamples"/>, <see cref="ShuffleBufferBytes"/>).</param>
/// <param name="Split">Held-out split applied to the samples.</param>
/// <param name="HeldOut">Read the held-out samples (true) or the others (false).</param>
/// <param name="Rank">This process's rank among <paramref name="WorldSize"/> readers.</param>
/// <param name="WorldSize">Readers sharing the data: each reads every WorldSize-th read unit (row group, tar shard, slice of
/// the folder's permuted files) of the epoch's order, so ranks read disjoint samples and together all of them once per epoch.</param>
/// <param name="From">Resume point: in its epoch, the units before it are not read and the samples before it are not
/// yielded (a cursor of another epoch changes nothing).</param>
public readonly record struct ReadPlan(int Epoch, long Seed, bool Shuffle, HoldoutSplit Split, bool HeldOut = false, int Rank = 0, int WorldSize = 1,
    ReadCursor? From = null)
{
    /// <summary>Default <see cref="ShuffleBufferSamples"/>.</summary>
    public const int DefaultShuffleBufferSamples = 4096;

    /// <summary>Default <see cref="ShuffleBufferBytes"/>: 256 MiB.</summary>
    public const long DefaultShuffleBufferBytes = 256L << 20;

    /// <summary>
    /// Shuffle buffer of shard datasets, in samples: consecutive read units of this rank's epoch order are grouped while
    /// their summed sample counts (before the split) stay within it and their bytes within <see cref="ShuffleBufferBytes"/>,
    /// and each group's samples are read together and yielded in a seeded permutation (a tar shard contributes pieces of
    /// up to its chunk size at a time, so many shards stream side by side). 0 or 1: no buffer, the order of earlier
    /// versions (units one after the other, samples permuted inside each). Default 4096. Ignored without
    /// <see cref="Shuffle"/>, and by image folders and IDX files, whose epoch is a permutation of all their samples.
    /// </summary>
    public int ShuffleBufferSamples { get; init; } = DefaultShuffleBufferSamples;

    /// <summary>
    /// Shuffle buffer bound in bytes of sample data held at once (Parquet: the image column chunks' sizes from the footer;
    /// tar: at most this over the streams read side by side). 0 or 1: no buffer (as <see cref="ShuffleBufferSamples"/>).
    /// Default 256 MiB. A single read unit larger than the bound is a group of its own.
    /// </summary>
    public long ShuffleBufferBytes { get; init; } = DefaultShuffleBufferBytes;

    /// <summary>
    /// Read each sample's caption, in a dataset that has them (<see cref="IImageDataset.HasCaptions"/>), into
    /// <see cref="SampleChunk.Captions"/>; a sample whose caption is missing or blank is then a bad sample. False (the
    /// default): captions are not read (image-only methods neither pay for them nor lose samples without one).
    /// </summary>
    public bool Captions { get; init; }

    /// <summary>
    /// A resume on another number of processes (<see cref="ReadReshard"/>): in the epochs its old ranks left partly read,
    /// this rank reads its round-robin share of what they had left instead of its own share. Shard datasets only (Parquet,
    /// tar, series Parquet); null: none.
    /// </summary>
    public ReadReshard? Reshard { get; init; }

    /// <summary>Whether this plan's epoch is one a <see cref="Reshard"/> deals out.</summary>
    internal bool Resharded => Reshard is { } r && r.Applies(Epoch);

    /// <summary>Whether shard datasets mix samples across read units (shuffling, with a buffer of more than one sample and byte).</summary>
    internal bool Mixes => Shuffle && ShuffleBufferSamples > 1 && ShuffleBufferBytes > 1;

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
