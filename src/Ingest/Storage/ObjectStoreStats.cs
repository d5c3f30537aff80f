using System.Diagnostics.Metrics;

namespace Contrastive.Ingest;

/// <summary>
/// What this process asked of object storage: requests (GET, HEAD, LIST, PUT, …), retries of failed ones, and the bytes of
/// object bodies received. Counted for the whole process (a run is a process), read by `train --json`, `bench --json` and
/// the report, and published on the "Contrastive.ObjectStore" meter (contrastive.store.requests, .retries, .bytes).
/// </summary>
public static class ObjectStoreStats
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Contrastive.ObjectStore";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> RequestCounter = Meter.CreateCounter<long>("contrastive.store.requests", description: "object-storage requests made");
    private static readonly Counter<long> RetryCounter = Meter.CreateCounter<long>("contrastive.store.retries", description: "object-storage requests retried after a transient failure");
    private static readonly Counter<long> ByteCounter = Meter.CreateCounter<long>("contrastive.store.bytes", "By", "object bodies received");
    private static long _requests, _retries, _bytes;

    /// <summary>The counts so far.</summary>
    public static ObjectStoreCounters Snapshot() => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _retries), Interlocked.Read(ref _bytes));

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
    /// <summary>What happened between <paramref name="earlier"/> and this.</summary>
    public ObjectStoreCounters Since(ObjectStoreCounters earlier) => new(Requests - earlier.Requests, Retries - earlier.Retries, BytesFetched - earlier.BytesFetched);
}
