using System.Diagnostics.Metrics;

namespace Contrastive.Ingest;

/// <summary>
/// What this process asked of object storage: requests (GET, HEAD, LIST, PUT, …), retries of failed ones, and the bytes of
/// object bodies received. Counted for the whole process (a run is a process), read by `train --json`, `bench --json` and
/// the report, and published on the "Contrastive.ObjectStore" meter (contrastive.store.requests, .retries, .bytes); and
/// what the local shard cache did (hits, misses, entries evicted or found damaged, its bytes on disk; contrastive.cache.hits, .misses).
/// </summary>
public static class ObjectStoreStats
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Contrastive.ObjectStore";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> RequestCounter = Meter.CreateCounter<long>("contrastive.store.requests", description: "object-storage requests made");
    private static readonly Counter<long> RetryCounter = Meter.CreateCounter<long>("contrastive.store.retries", description: "object-storage requests retried after a transient failure");
    private static readonly Counter<long> ByteCounter = Meter.CreateCounter<long>("contrastive.store.bytes", "By", "object bodies received");
    private static readonly Counter<long> HitCounter = Meter.CreateCounter<long>("contrastive.cache.hits", description: "objects read from the local shard cache");
    private static readonly Counter<long> MissCounter = Meter.CreateCounter<long>("contrastive.cache.misses", description: "objects the local shard cache had to fetch (or read directly)");
    private static long _requests, _retries, _bytes, _hits, _misses, _evicted, _damaged, _cacheBytes = -1;

    /// <summary>The counts so far.</summary>
    public static ObjectStoreCounters Snapshot() => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _retries), Interlocked.Read(ref _bytes))
    {
        CacheHits = Interlocked.Read(ref _hits), CacheMisses = Interlocked.Read(ref _misses), CacheEvicted = Interlocked.Read(ref _evicted),
        CacheDamaged = Interlocked.Read(ref _damaged), CacheBytesOnDisk = Interlocked.Read(ref _cacheBytes),
    };

    internal static void CacheHit()
    {
        Interlocked.Increment(ref _hits);
        HitCounter.Add(1);
    }

    internal static void CacheMiss()
    {
        Interlocked.Increment(ref _misses);
        MissCounter.Add(1);
    }

    internal static void CacheEvicted() => Interlocked.Increment(ref _evicted);

    internal static void CacheDamaged() => Interlocked.Increment(ref _damaged);

    internal static void CacheBytes(long bytes) => Interlocked.Exchange(ref _cacheBytes, bytes);

    internal static void Request()
    {
        Interlocked.Increment(ref _requests);
        RequestCounter.Add(1);
    }

    /// <summary>Counts a retry; returns the process's retries so far.</summary>
    internal static long Retry()
    {
        RetryCounter.Add(1);
        return Interlocked.Increment(ref _retries);
    }

    internal static void Received(long bytes)
    {
        Interlocked.Add(ref _bytes, bytes);
        ByteCounter.Add(bytes);
    }
}

/// <summary>Object-storage counts: requests made, retries, bytes of bodies received.</summary>
public readonly record struct ObjectStoreCounters(long Requests, long Retries, long BytesFetched)
{
    /// <summary>Objects the local shard cache served from an intact entry (each counted once per read pass).</summary>
    public long CacheHits { get; init; }

    /// <summary>Objects the local shard cache fetched, or left to be read from the store directly when it had no room.</summary>
    public long CacheMisses { get; init; }

    /// <summary>Cache entries deleted to make room.</summary>
    public long CacheEvicted { get; init; }

    /// <summary>Cache entries found damaged (wrong length or checksum), deleted and fetched again.</summary>
    public long CacheDamaged { get; init; }

    /// <summary>The cache folder's bytes on disk at the last count; -1 when no cache was used.</summary>
    public long CacheBytesOnDisk { get; init; }

    /// <summary>Whether the process has read through a shard cache.</summary>
    public bool CacheUsed => CacheBytesOnDisk >= 0 || CacheHits + CacheMisses > 0;

    /// <summary>What happened between <paramref name="earlier"/> and this (the bytes on disk are this one's).</summary>
    public ObjectStoreCounters Since(ObjectStoreCounters earlier) => new(Requests - earlier.Requests, Retries - earlier.Retries, BytesFetched - earlier.BytesFetched)
    {
        CacheHits = CacheHits - earlier.CacheHits, CacheMisses = CacheMisses - earlier.CacheMisses, CacheEvicted = CacheEvicted - earlier.CacheEvicted,
        CacheDamaged = CacheDamaged - earlier.CacheDamaged, CacheBytesOnDisk = CacheBytesOnDisk,
    };
}
