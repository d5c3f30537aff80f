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
