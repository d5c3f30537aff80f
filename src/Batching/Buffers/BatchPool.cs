using System.Collections.Concurrent;
using Contrastive.Augment;

namespace Contrastive.Batching;

/// <summary>A fixed set of batch buffers, allocated up front; memory is bounded by <see cref="TotalBytes"/> whatever the data.</summary>
public sealed class BatchPool : IDisposable
{
    private readonly ConcurrentBag<Batch> _free = new();
    private readonly SemaphoreSlim _available;
    private int _outstanding;

    /// <summary>Images: <paramref name="views"/> views of 3 × <paramref name="size"/>² bytes.</summary>
    public BatchPool(int buffers, int views, int batchSize, int size) : this(buffers, views, batchSize, 3 * size * size, size)
    {
    }

    /// <param name="floatViews">Store views as float32 (<see cref="Batch.Values"/>) rather than bytes.</param>
    /// <param name="viewSizes">Image views of different sides (multi-crop), one per view; null when all are <paramref name="size"/>.</param>
    /// <param name="context">Token ids per sample when the batches carry captions' tokens (<see cref="Batch.Tokens"/>); 0: none.</param>
    public BatchPool(int buffers, int views, int batchSize, int viewBytes, int size, bool floatViews = false, int[]? viewSizes = null, int context = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buffers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        for (int i = 0; i < buffers; i++) _free.Add(new Batch(views, batchSize, viewBytes, size, floatViews, viewSizes, context));
        _available = new SemaphoreSlim(buffers, buffers);
        Buffers = buffers;
        TotalBytes = (long)buffers * batchSize * (viewSizes is null ? (long)views * viewBytes : viewSizes.Sum(s => 3L * s * s));
        TokenBytes = (long)buffers * batchSize * context * sizeof(int);
    }

    public int Buffers { get; }

    /// <summary>Pixel bytes held by all buffers.</summary>
    public long TotalBytes { get; }

    /// <summary>Token bytes held by all buffers (0 without text).</summary>
    public long TokenBytes { get; }

    /// <summary>Leases currently out (not yet returned).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public async ValueTask<BatchLease> RentAsync(CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        if (!_free.TryTake(out var batch)) throw new InvalidOperationException("batch pool accounting is broken: a permit without a buffer");
        batch.Count = 0;
        Interlocked.Increment(ref _outstanding);
        return new BatchLease(batch, Return);
    }

    private void Return(Batch batch)
    {
        _free.Add(batch);
        Interlocked.Decrement(ref _outstanding);
        _available.Release();
    }

    public void Dispose() => _available.Dispose();
}
