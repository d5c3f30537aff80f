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
        public readonly BatchAssembler.Open?[] Batches = new BatchAssembler.Open?[chunk.Count];
        public int DoneUpTo;

        public void Place(int i, BatchAssembler.Open batch) => Volatile.Write(ref Batches[i], batch);

        public void Skip(int i) => Volatile.Write(ref Batches[i], Skipped);
    }

    /// <summary>Marks a bad sample: done without a batch.</summary>
    internal static readonly BatchAssembler.Open Skipped = BatchAssembler.Open.Done();

    private readonly Queue<Chunk> _chunks = new();
    private ReadCursor? _end; // just after the last chunk read

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

    /// <summary>The cursor after everything published so far (call as a batch is published, after marking it).</summary>
    public ReadCursor? Cursor()
    {
        lock (_chunks)
        {
            while (_chunks.TryPeek(out var c))
            {
                while (c.DoneUpTo < c.Batches.Length && Volatile.Read(ref c.Batches[c.DoneUpTo]) is { IsPublished: true }) c.DoneUpTo++;
                if (c.DoneUpTo < c.Batches.Length) return c.Start with { Offset = c.Start.Offset + c.DoneUpTo };
                _chunks.Dequeue();
            }
            return _end;
        }
    }
}
