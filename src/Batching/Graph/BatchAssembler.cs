using System.Threading.Channels;
using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>
/// Hands out batch slots to workers in arrival order and publishes a batch once every slot reserved in it
/// has been written. Workers write each sample's views straight into its slot: no per-sample buffers.
/// </summary>
internal sealed class BatchAssembler(BatchPool pool, ChannelWriter<BatchLease> output, PipelineStats stats, int batchSize, bool dropLast,
    ReadProgress? progress = null, TraceRecorder? trace = null)
{
    private readonly int _lane = trace?.Lane(TraceRecorder.AssemblerLane) ?? 0;

    /// <summary>A batch being filled. <see cref="Pending"/> counts reserved-but-unwritten slots plus one while it is still open.</summary>
    internal sealed class Open(BatchLease? lease)
    {
        public readonly BatchLease Lease = lease!;
        public int Pending = 1;
        public int Reserved;
        public int Published;

        public bool IsPublished => Volatile.Read(ref Published) != 0;

        /// <summary>A marker that counts as published (a skipped sample's "batch").</summary>
        internal static Open Done() => new(null) { Published = 1 };
    }

    internal readonly record struct Slot(Open Batch, int Index);

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SemaphoreSlim _publish = new(1, 1); // batches reach the channel in the order their cursors were taken
    private readonly List<Open> _all = [];
    private Open? _current;

    public async ValueTask<Slot> ReserveAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_current is null)
            {
                var lease = await pool.RentAsync(ct).ConfigureAwait(false);
                _current = new Open(lease);
                lock (_all) _all.Add(_current);
            }
            var open = _current;
            int index = open.Reserved++;
            Interlocked.Increment(ref open.Pending);
            if (open.Reserved == batchSize)
            {
                _current = null;
                Seal(open);
            }
            return new Slot(open, index);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Marks a slot written; publishes the batch if it was the last one outstanding.</summary>
    public ValueTask CommitAsync(Slot slot, CancellationToken ct) =>
        Interlocked.Decrement(ref slot.Batch.Pending) == 0 ? PublishAsync(slot.Batch, ct) : ValueTask.CompletedTask;

    /// <summary>After all workers finished: publishes (or, with drop-last, returns) the partial batch.</summary>
    public async ValueTask FinishAsync(CancellationToken ct)
    {
        var open = _current;
        _current = null;
        if (open is null) return;
        if (dropLast || open.Reserved == 0)
        {
            lock (_all) _all.Remove(open);
            open.Lease.Dispose();
            return;
        }
        if (Interlocked.Decrement(ref open.Pending) == 0) await PublishAsync(open, ct).ConfigureAwait(false);
    }

    /// <summary>Returns every lease that was never published (after a fault or a cancel).</summary>
    public void ReturnUnpublished()
    {
        lock (_all)
        {
            foreach (var open in _all)
                if (Interlocked.Exchange(ref open.Published, 1) == 0) open.Lease.Dispose();
            _all.Clear();
        }
    }

    private static void Seal(Open open) => Interlocked.Decrement(ref open.Pending); // cannot reach 0: the reserving worker holds a slot

    private async ValueTask PublishAsync(Open open, CancellationToken ct)
    {
        if (open.IsPublished) return;
        try
        {
            await _publish.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            if (Interlocked.Exchange(ref open.Published, 1) == 0) { lock (_all) _all.Remove(open); open.Lease.Dispose(); }
            throw;
        }
        try
        {
            if (Interlocked.Exchange(ref open.Published, 1) != 0) return;
            lock (_all) _all.Remove(open);
            var batch = open.Lease.Batch;
            batch.Count = open.Reserved;
            (batch.Resume, batch.SkippedBefore) = progress?.Cursor() ?? (null, 0);
            try
            {
                // Waits while the prefetch queue is full: a long span here means the consumer is the slower side.
                using (trace.Span(_lane, "publish batch"))
                    await output.WriteAsync(open.Lease, ct).ConfigureAwait(false);
                stats.Batch();
            }
            catch
            {
                open.Lease.Dispose();
                throw;
            }
        }
        finally
        {
            _publish.Release();
        }
    }
}
