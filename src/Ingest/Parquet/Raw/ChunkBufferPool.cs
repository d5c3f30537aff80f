using System.Collections.Concurrent;
using System.Numerics;

namespace Contrastive.Ingest;

/// <summary>
/// The pool that chunks' byte buffers (column chunks, decompressed pages, tar members, folder files) come from:
/// power-of-two size classes, any thread may rent or return, at most <see cref="MaxPerClass"/> arrays kept per class.
/// It counts what it has allocated and what is out, so memory held for chunks is visible
/// (<see cref="AllocatedBytes"/>, <see cref="OutstandingBytes"/>).
/// </summary>
public static class ChunkBufferPool
{
    /// <summary>Arrays kept per size class.</summary>
    public const int MaxPerClass = 64;

    private const int MinClass = 12; // 4 KiB
    private static readonly ConcurrentStack<byte[]>[] Classes = Enumerable.Range(0, 31).Select(_ => new ConcurrentStack<byte[]>()).ToArray();
    private static long _allocatedBytes, _allocatedArrays, _outstandingBytes, _outstandingArrays, _droppedArrays;

    /// <summary>Bytes of arrays this pool has allocated (kept or out; dropped ones are subtracted).</summary>
    public static long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    /// <summary>Arrays this pool has allocated over the process's life.</summary>
    public static long AllocatedArrays => Interlocked.Read(ref _allocatedArrays);

    /// <summary>Bytes of arrays rented and not yet returned.</summary>
    public static long OutstandingBytes => Interlocked.Read(ref _outstandingBytes);

    /// <summary>Arrays rented and not yet returned.</summary>
    public static long OutstandingArrays => Interlocked.Read(ref _outstandingArrays);

    /// <summary>Arrays returned to a full class and left to the GC.</summary>
    public static long DroppedArrays => Interlocked.Read(ref _droppedArrays);

    /// <summary>An array of at least <paramref name="size"/> bytes (its length is the size class).</summary>
    public static byte[] Rent(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        int cls = Math.Max(MinClass, size <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)(size - 1)));
        if (cls > 30) throw new ArgumentOutOfRangeException(nameof(size), $"{size} bytes is above the largest buffer (1 GiB)");
        if (!Classes[cls].TryPop(out var array))
        {
            array = GC.AllocateUninitializedArray<byte>(1 << cls);
            Interlocked.Increment(ref _allocatedArrays);
            Interlocked.Add(ref _allocatedBytes, array.Length);
        }
        Interlocked.Increment(ref _outstandingArrays);
        Interlocked.Add(ref _outstandingBytes, array.Length);
        return array;
    }

    /// <summary>Takes back an array that <see cref="Rent"/> gave.</summary>
    public static void Return(byte[] array)
    {
        int cls = BitOperations.Log2((uint)array.Length);
        if (array.Length != 1 << cls || cls < MinClass || cls > 30) throw new ArgumentException("not an array of this pool", nameof(array));
        Interlocked.Decrement(ref _outstandingArrays);
        Interlocked.Add(ref _outstandingBytes, -array.Length);
        var stack = Classes[cls];
        if (stack.Count < MaxPerClass) stack.Push(array);
        else
        {
            Interlocked.Increment(ref _droppedArrays);
            Interlocked.Add(ref _allocatedBytes, -array.Length);
        }
    }
}
