using Contrastive.Ingest;

namespace Contrastive.Batching;

/// <summary>
/// Which samples of the chunks read so far are in published batches, so that each batch can carry the cursor to
/// resume from (<see cref="Batch.Resume"/>). Chunks are registered in read order; a sample is done when it was bad
/// (skipped) or its batch has been published. The cursor is the first sample, in read order, that is not done.
/// </summary>
internal sealed class ReadProgress
{
    /// <summary>One chunk's samples: the batch each went into (null: not yet), or <see cref="Skipped"/>.</summary>
    internal sealed class Chunk(SampleChunk chunk)
    {
        public readonly ReadCursor Start = chunk.CursorAt(0);
        public readonly string Shard = chunk.Shard;
        public readonly string[]? Shards = chunk.Shards; // per sample, when the chunk mixes shards (the shuffle buffer)
        public readonly MixPositions? Mix = chunk.Mix; // a chunk of a weighted mix of sources: its cursors come from here
        public readonly BatchAssembler.Open?[] Batches = new BatchAssembler.Open?[chunk.Count];
        public int DoneUpTo;

        public void Place(int i, BatchAssembler.Open batch) => Volatile.Write(ref Batches[i], batch);

        public void Skip(int i) => Volatile.Write(ref Batches[i], Skipped);
    }

    /// <summary>Marks a bad sample: done without a batch.</summary>
    internal static readonly BatchAssembler.Open Skipped = BatchAssembler.Open.Done();

    private readonly Queue<Chunk> _chunks = new();
    private ReadCursor? _end; // just after the last chunk read
    // Bad samples the cursor has passed: the recent ones as runs per shard in read order, older ones summed per shard in
    // _base. Runs are folded into _base once no batch a consumer may still hold or have just taken can point into them:
    // a consumer holds at most all the pool's buffers, so the skip counts of the last `retain` published batches bound it.
    private readonly List<(string Shard, long Count)> _skips = [];
    private readonly Dictionary<string, long> _base = new(StringComparer.Ordinal);
    private long _baseCount;
    private long _skipped;
    private readonly Queue<long> _published = new();
    private readonly int _retain;

    /// <param name="retain">Published batches whose bad-sample counts stay resolvable per shard (at least the pool's buffers + 1).</param>
    public ReadProgress(int retain = 64) => _retain = Math.Max(1, retain);

    public Chunk Register(SampleChunk chunk)
    {
        var c = new Chunk(chunk);
        lock (_chunks)
        {
            _chunks.Enqueue(c);
            _end = chunk.CursorAt(chunk.Count);
        }
        return c;
    }

    /// <summary>
    /// The cursor after everything published so far (call as a batch is published, after marking it), and how many bad
    /// samples lie before it (<see cref="SkippedBefore"/> tells which shards they were in).
    /// </summary>
    public (ReadCursor? Cursor, long Skipped) Cursor()
    {
        lock (_chunks)
        {
            while (_chunks.TryPeek(out var c))
            {
                while (c.DoneUpTo < c.Batches.Length && Volatile.Read(ref c.Batches[c.DoneUpTo]) is { IsPublished: true } b)
                {
                    if (ReferenceEquals(b, Skipped)) Passed(c.Shards?[c.DoneUpTo] ?? c.Shard);
                    c.DoneUpTo++;
                }
                if (c.DoneUpTo < c.Batches.Length)
                    return (c.Mix?.CursorAt(c.DoneUpTo) ?? c.Start with { Offset = c.Start.Offset + c.DoneUpTo }, Published(_skipped));
                _chunks.Dequeue();
            }
            return (_end, Published(_skipped));
        }
    }

    /// <summary>Records a published batch's skip count; folds runs no retained batch points into into the per-shard base.</summary>
    private long Published(long skipped)
    {
        _published.Enqueue(skipped);
        if (_published.Count > _retain)
        {
            long oldest = _published.Dequeue();
            while (_skips.Count > 0 && _baseCount + _skips[0].Count <= oldest)
            {
                var (shard, n) = _skips[0];
                _base[shard] = _base.GetValueOrDefault(shard) + n;
                _baseCount += n;
                _skips.RemoveAt(0);
            }
        }
        return skipped;
    }

    private void Passed(string shard)
    {
        _skipped++;
        if (_skips.Count > 0 && string.Equals(_skips[^1].Shard, shard, StringComparison.Ordinal)) _skips[^1] = (shard, _skips[^1].Count + 1);
        else _skips.Add((shard, 1));
    }

    /// <summary>The first <paramref name="count"/> bad samples the cursor passed, counted per shard (sorted by shard).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is from a batch published long before the retained ones.</exception>
    public IReadOnlyDictionary<string, long> SkippedBefore(long count)
    {
        lock (_chunks)
        {
            if (count < _baseCount)
                throw new ArgumentOutOfRangeException(nameof(count), $"skip count {count} is older than the {_retain} most recently published batches");
            var byShard = new SortedDictionary<string, long>(_base, StringComparer.Ordinal);
            count -= _baseCount;
            for (int i = 0; i < _skips.Count && count > 0; i++)
            {
                var (shard, n) = _skips[i];
                long take = Math.Min(n, count);
                byShard[shard] = byShard.GetValueOrDefault(shard) + take;
                count -= take;
            }
            return byShard;
        }
    }
}
