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
    public static SampleChunk Select(SampleChunk chunk, ReadPlan plan)
    {
        int n = chunk.Count;
        var order = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (plan.Split.IsHeldOut(chunk.Indices[i]) == plan.HeldOut) order.Add(i);
        if (plan.Shuffle) Permute(order, Rng(plan.Seed, plan.Epoch, chunk.Indices.Length > 0 ? chunk.Indices[0] : 0));
        if (order.Count == n && !plan.Shuffle) return chunk;
        return chunk.Select(order);
    }
}
