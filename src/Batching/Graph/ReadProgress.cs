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
        public readonly BatchAssembler.Open?[] Batches = new BatchAssembler.Open?[chunk.Count];
        public int DoneUpTo;

        public void Place(int i, BatchAssembler.Open batch) => Volatile.Write(ref Batches[i], batch);

        public void Skip(int i) => Volatile.Write(ref Batches[i], Skipped);
    }

    /// <summary>Marks a bad sample: done without a batch.</summary>
    internal static readonly BatchAssembler.Open Skipped = BatchAssembler.Open.Done();

    private readonly Queue<Chunk> _chunks = new();
    private ReadCursor? _end; // just after the last chunk read
    private readonly List<(string Shard, long Count)> _skips = []; // bad samples the cursor has passed, in read order, runs per shard
    private long _skipped;

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
                    if (ReferenceEquals(b, Skipped)) Passed(c.Shard);
                    c.DoneUpTo++;
                }
                if (c.DoneUpTo < c.Batches.Length) return (c.Start with { Offset = c.Start.Offset + c.DoneUpTo }, _skipped);
                _chunks.Dequeue();
            }
            return (_end, _skipped);
        }
    }

    private void Passed(string shard)
    {
        _skipped++;
        if (_skips.Count > 0 && ReferenceEquals(_skips[^1].Shard, shard)) _skips[^1] = (shard, _skips[^1].Count + 1);
        else _skips.Add((shard, 1));
    }

    /// <summary>The first <paramref name="count"/> bad samples the cursor passed, counted per shard (sorted by shard).</summary>
    public IReadOnlyDictionary<string, long> SkippedBefore(long count)
    {
        var byShard = new SortedDictionary<string, long>(StringComparer.Ordinal);
        lock (_chunks)
            foreach (var (shard, n) in _skips)
            {
                if (count <= 0) break;
                long take = Math.Min(n, count);
                byShard[shard] = byShard.GetValueOrDefault(shard) + take;
                count -= take;
            }
        return byShard;
    }
}
