namespace Contrastive.Ingest;

/// <summary>The deterministic order and split rules every dataset format shares.</summary>
internal static class SampleOrder
{
    public static Random Rng(long seed, int epoch, long salt) =>
        new((int)(StableHash.Combine((ulong)seed, (ulong)epoch, (ulong)salt) >> 33));

    public static void Permute<T>(List<T> items, Random rng)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public static void Permute<T>(Span<T> items, Random rng)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>
    /// The epoch of a dataset read by random access (an image folder, an IDX file): a permutation of all
    /// <paramref name="count"/> samples when shuffling (stored order otherwise), cut into read units of
    /// <paramref name="unitSize"/> consecutive entries. Yields this rank's units that are not before the plan's cursor, each
    /// with its position and the samples to read in order: those the split keeps, less those before the cursor
    /// (`Skipped` of them, the offset of the first).
    /// </summary>
    public static IEnumerable<(int Position, int[] Samples, int Skipped)> Slices(int count, int unitSize, ReadPlan plan)
    {
        if (plan.Resharded)
            throw new NotSupportedException("Resuming on another number of processes needs shard data (Parquet or tar shards); an image folder or IDX file resumes with as many processes as wrote the checkpoint.");
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        if (plan.Shuffle) Permute(order.AsSpan(), Rng(plan.Seed, plan.Epoch, -1));
        int units = (count + unitSize - 1) / unitSize;
        var kept = new List<int>(unitSize);
        for (int position = 0; position < units; position++)
        {
            if (!plan.IsMine(position) || plan.Skips(position)) continue;
            kept.Clear();
            for (int j = position * unitSize, end = Math.Min(count, j + unitSize); j < end; j++)
                if (plan.Split.IsHeldOut(order[j]) == plan.HeldOut) kept.Add(order[j]);
            int skip = plan.SkipCount(kept.Count, position, 0);
            if (kept.Count > skip) yield return (position, kept.GetRange(skip, kept.Count - skip).ToArray(), skip);
        }
    }

    /// <summary>
    /// An epoch's read units (row groups, tar shards, chunks of files) in the plan's order with their positions in it,
    /// leaving out other ranks' units and those before the plan's cursor. <paramref name="units"/> is permuted in place.
    /// </summary>
    public static IEnumerable<(int Position, T Unit)> Units<T>(List<T> units, ReadPlan plan)
    {
        if (plan.Shuffle) Permute(units, Rng(plan.Seed, plan.Epoch, -1));
        for (int position = 0; position < units.Count; position++)
            if (plan.IsMine(position) && !plan.Skips(position)) yield return (position, units[position]);
    }

    /// <summary>Units numbered 0 to <paramref name="count"/> − 1, in the plan's order (<see cref="Units{T}(List{T}, ReadPlan)"/>).</summary>
    public static IEnumerable<(int Position, int Unit)> Units(int count, ReadPlan plan) => Units(Enumerable.Range(0, count).ToList(), plan);

    /// <summary>Applies the split and, when shuffling, a per-chunk sample permutation.</summary>
    public static SampleChunk Select(SampleChunk chunk, ReadPlan plan) => Order(chunk.Indices, plan) is { } order ? chunk.Select(order) : chunk;

    /// <summary>
    /// The positions of a chunk's samples (by their global <paramref name="indices"/>) that the plan keeps, in the plan's
    /// order; null when that is all of them in stored order. Shared by every chunk type so all formats order alike.
    /// </summary>
    public static List<int>? Order(long[] indices, ReadPlan plan)
    {
        int n = indices.Length;
        var order = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (plan.Split.IsHeldOut(indices[i]) == plan.HeldOut) order.Add(i);
        if (plan.Shuffle) Permute(order, Rng(plan.Seed, plan.Epoch, n > 0 ? indices[0] : 0));
        return order.Count == n && !plan.Shuffle ? null : order;
    }
}
