namespace Contrastive.Training;

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
