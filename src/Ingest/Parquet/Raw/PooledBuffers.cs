namespace Contrastive.Ingest;

/// <summary>Byte arrays rented from <see cref="ChunkBufferPool"/> that one chunk's values point into; returned when the chunk is released.</summary>
internal sealed class PooledBuffers : IDisposable
{
    private readonly List<byte[]> _rented = new(4);
    private int _disposed;

    public byte[] Rent(int size)
    {
        var b = ChunkBufferPool.Rent(size);
        _rented.Add(b);
        return b;
    }

    /// <summary>Returns one buffer early (its data is no longer referenced).</summary>
    public void Return(byte[] buffer)
    {
        if (_rented.Remove(buffer)) ChunkBufferPool.Return(buffer);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var b in _rented) ChunkBufferPool.Return(b);
        _rented.Clear();
    }
}
