namespace Contrastive.Ingest;

/// <summary>
/// A local cache of shards read from object storage (<see cref="ObjectStoreOptions.WithCache"/>): whole objects kept in
/// <see cref="Directory"/> within <see cref="BudgetBytes"/>, prefetched in the order this rank will read them.
/// </summary>
public sealed class ShardCacheOptions
{
    /// <summary>The cache's folder (created when missing). Processes on one machine that name the same folder share it.</summary>
    public string Directory { get; init; } = "";

    /// <summary>The most bytes the cache's files may take on disk, entries being written included.</summary>
    public long BudgetBytes { get; init; } = 10L << 30;

    /// <summary>The most bytes fetched ahead of the reader (shards prefetched and not yet read). At least one shard is always allowed.</summary>
    public long AheadBytes { get; init; } = 1L << 30;

    /// <summary>The most prefetch requests in flight at once.</summary>
    public int Requests { get; init; } = 4;
}
