namespace Contrastive.Training;

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
