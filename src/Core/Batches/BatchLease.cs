namespace Contrastive.Core;

/// <summary>
/// Exclusive use of one <see cref="Batch"/>. The holder must dispose it once done (for a device, once the copy
/// completed); disposing hands the buffer back to its owner (the input pipeline's pool). Disposing twice is harmless.
/// </summary>
public sealed class BatchLease : IDisposable
{
    private Action<Batch>? _release;

    /// <param name="batch">The batch leased.</param>
    /// <param name="release">Called once, with the batch, when the lease is disposed (null: nothing to give back).</param>
    public BatchLease(Batch batch, Action<Batch>? release = null)
    {
        Batch = batch;
        _release = release ?? (_ => { });
    }

    public Batch Batch { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke(Batch);
}
