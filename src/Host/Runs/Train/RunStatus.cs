using System.Text.Json;
using System.Text.Json.Serialization;
using Contrastive.Training;

namespace Contrastive.Host;

/// <summary>
/// A run's live figures as rank 0 writes them to status.json in its folder at every periodic status (Training:LogEverySeconds):
/// what a supervisor (the service, a script) reads without a connection to the run. Written whole to a temporary file and
/// renamed over the old one, so a reader never sees half a file.
/// </summary>
internal sealed record RunStatus(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("loss")] double? Loss,
    [property: JsonPropertyName("lr")] double? LearningRate,
    [property: JsonPropertyName("images_per_sec")] double? ImagesPerSec,
    [property: JsonPropertyName("starvation")] double? Starvation,
    [property: JsonPropertyName("eta_seconds")] double? EtaSeconds,
    [property: JsonPropertyName("bad_samples")] long BadSamples,
    [property: JsonPropertyName("pid")] int ProcessId,
    [property: JsonPropertyName("time")] DateTimeOffset Time)
{
    public const string FileName = "status.json";

    /// <summary>This process's object-storage requests, retries and bytes fetched so far (null when it has asked nothing of object storage).</summary>
    [JsonPropertyName("store_requests"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRequests { get; init; }
    [JsonPropertyName("store_retries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRetries { get; init; }
    [JsonPropertyName("bytes_fetched"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? BytesFetched { get; init; }

    /// <summary>The local shard cache (Data:CacheDir): objects served from an intact entry, objects fetched (or read directly for want of room), and the cache folder's bytes on disk; absent without a cache.</summary>
    [JsonPropertyName("cache_hits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheHits { get; init; }
    [JsonPropertyName("cache_misses"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheMisses { get; init; }
    [JsonPropertyName("cache_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheBytes { get; init; }

    public static RunStatus From(LoopStatus s)
    {
        var store = Contrastive.Ingest.ObjectStoreStats.Snapshot();
        bool used = store.Requests > 0;
        return new(s.Step, s.Epoch, Finite(s.MeanLoss), Finite(s.LearningRate), Finite(s.SamplesPerSecond), Finite(s.WaitShare),
            s.EtaSeconds is { } eta ? Finite(eta) : null, s.BadSamples, Environment.ProcessId, DateTimeOffset.UtcNow)
        {
            StoreRequests = used ? store.Requests : null, StoreRetries = used ? store.Retries : null, BytesFetched = used ? store.BytesFetched : null,
            CacheHits = store.CacheUsed ? store.CacheHits : null, CacheMisses = store.CacheUsed ? store.CacheMisses : null,
            CacheBytes = store.CacheUsed ? store.CacheBytesOnDisk : null,
        };
    }

    /// <summary>Writes the status into <paramref name="folder"/>; an I/O error is returned, not thrown (a status is never worth a run).</summary>
    public string? TryWrite(string folder) => RunResultFile.TryWriteWhole(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this));

    /// <summary>The status in <paramref name="folder"/>, or null when there is none yet (or it cannot be read).</summary>
    public static RunStatus? Read(string folder)
    {
        try { return JsonSerializer.Deserialize<RunStatus>(File.ReadAllBytes(Path.Combine(folder, FileName))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
