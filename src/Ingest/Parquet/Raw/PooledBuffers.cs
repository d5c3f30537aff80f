using System.Buffers;

namespace Contrastive.Ingest;

/// <summary>Byte arrays rented from <see cref="Pool"/> that one chunk's values point into; returned when the chunk is released.</summary>
internal sealed class PooledBuffers : IDisposable
{
    /// <summary>
    /// Column-chunk and page buffers are megabytes, rented on the reading thread and returned on a worker thread.
    /// The shared pool keeps large arrays per thread and per core and so misses across threads; this pool serves any
    /// thread. It retains at most what was in use at once (chunks queued and in flight, one or two buffers each),
    /// capped at 64 arrays of each power-of-two size.
    /// </summary>
    internal static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 1 << 30, maxArraysPerBucket: 64);

    private readonly List<byte[]> _rented = new(4);
    private int _disposed;

    public byte[] Rent(int size)
    {
        var b = Pool.Rent(Math.Max(1, size));
        _rented.Add(b);
        return b;
    }

    /// <summary>Returns one buffer early (its data is no longer referenced).</summary>
    public void Return(byte[] buffer)
    {
        if (_rented.Remove(buffer)) Pool.Return(buffer);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var b in _rented) Pool.Return(b);
        _rented.Clear();
    }
}
