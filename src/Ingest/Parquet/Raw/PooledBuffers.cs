using System.Buffers;

namespace Contrastive.Ingest;

/// <summary>Byte arrays rented from the shared pool that one chunk's values point into; returned when the chunk is released.</summary>
internal sealed class PooledBuffers : IDisposable
{
    private readonly List<byte[]> _rented = new(4);
    private int _disposed;

    public byte[] Rent(int size)
    {
        var b = ArrayPool<byte>.Shared.Rent(Math.Max(1, size));
        _rented.Add(b);
        return b;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var b in _rented) ArrayPool<byte>.Shared.Return(b);
        _rented.Clear();
    }
}
