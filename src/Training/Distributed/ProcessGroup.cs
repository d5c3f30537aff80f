namespace Contrastive.Training;

/// <summary>How <see cref="IProcessGroup.AllReduce{T}"/> combines the ranks' values.</summary>
public enum ReduceOp { Sum, Max, Min }

/// <summary>
/// The processes of one data-parallel run: rank, world size and the collectives the trainer needs, on spans of
/// primitive values (float, double, long, int, byte). Every rank must make the same calls in the same order. Calls come
/// from one thread at a time (the trainer's); the input pipeline's Dataflow blocks never call a group. Tensor forms are
/// in <see cref="ProcessGroupTensors"/>.
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Processes in the run.</summary>
    int WorldSize { get; }

    /// <summary>This process's rank among those on its machine (the GPU it uses).</summary>
    int LocalRank { get; }

    /// <summary>"single", "mpi" (and the library it loaded).</summary>
    string Backend { get; }

    /// <summary>Combines every rank's <paramref name="values"/> element-wise, in place, on every rank.</summary>
    void AllReduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged;

    /// <summary>Every rank's <paramref name="mine"/> (all the same length), concatenated in rank order into <paramref name="all"/>.</summary>
    void AllGather<T>(ReadOnlySpan<T> mine, Span<T> all) where T : unmanaged;

    /// <summary>Root's <paramref name="values"/> copied into every rank's.</summary>
    void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged;

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}

/// <summary>The group of one process: every collective is the identity.</summary>
public sealed class SingleProcessGroup : IProcessGroup
{
    public static SingleProcessGroup Instance { get; } = new();

    public int Rank => 0;

    public int WorldSize => 1;

    public int LocalRank => 0;

    public string Backend => "single";

    public void AllReduce<T>(Span<T> values, ReduceOp op = ReduceOp.Sum) where T : unmanaged { }

    public void AllGather<T>(ReadOnlySpan<T> mine, Span<T> all) where T : unmanaged
    {
        if (all.Length != mine.Length) throw new ArgumentException($"all-gather into {all.Length} values from {mine.Length} in a world of 1");
        mine.CopyTo(all);
    }

    public void Broadcast<T>(Span<T> values, int root = 0) where T : unmanaged
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), $"root {root} is outside a world of 1");
    }

    public void Barrier() { }

    public void Dispose() { }
}

/// <summary>Byte-level helpers every group shares.</summary>
public static class ProcessGroupExtensions
{
    /// <summary>Each rank's byte string (of any length) gathered in rank order.</summary>
    public static byte[][] AllGatherBytes(this IProcessGroup group, ReadOnlySpan<byte> mine)
    {
        var lengths = new long[group.WorldSize];
        group.AllGather<long>([mine.Length], lengths);
        long max = lengths.Max();
        var padded = new byte[max];
        mine.CopyTo(padded);
        var all = new byte[max * group.WorldSize];
        group.AllGather<byte>(padded, all);
        return [.. Enumerable.Range(0, group.WorldSize).Select(r => all.AsSpan((int)(r * max), (int)lengths[r]).ToArray())];
    }

    /// <summary>Root's byte string (of any length) on every rank.</summary>
    public static byte[] BroadcastBytes(this IProcessGroup group, byte[]? rootBytes, int root = 0)
    {
        var length = new long[] { group.Rank == root ? rootBytes?.Length ?? 0 : 0 };
        group.Broadcast<long>(length, root);
        var buffer = group.Rank == root ? rootBytes ?? [] : new byte[length[0]];
        group.Broadcast<byte>(buffer, root);
        return buffer;
    }

    /// <summary>Whether any rank says true.</summary>
    public static bool Any(this IProcessGroup group, bool mine)
    {
        Span<int> v = [mine ? 1 : 0];
        group.AllReduce(v, ReduceOp.Max);
        return v[0] != 0;
    }
}
