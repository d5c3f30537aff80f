namespace Contrastive.Batching;

/// <summary>
/// Exclusive use of one pooled <see cref="Batch"/>. The holder must dispose it once done (for a device, once
/// the copy completed); disposing returns the buffer to the pool. Disposing twice is harmless.
/// </summary>
public sealed class BatchLease : IDisposable
{
    private BatchPool? _pool;

    internal BatchLease(BatchPool pool, Batch batch)
    {
        _pool = pool;
        Batch = batch;
    }

    public Batch Batch { get; }

    public void Dispose()
    {
        var pool = Interlocked.Exchange(ref _pool, null);
        pool?.Return(Batch);
    }
}
