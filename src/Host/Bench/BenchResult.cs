using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What `contrastive bench` measured over its window (warm-up excluded); the JSON form of its last line.</summary>
internal sealed record BenchResult
{
    [JsonPropertyName("images_per_sec")] public double ImagesPerSec { get; init; }

    /// <summary>Bench:Epochs: each whole epoch as the reader saw it.</summary>
    [JsonPropertyName("epochs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<EpochRead>? Epochs { get; init; }

    /// <summary>Object storage (s3:// data or run folders): requests made, retried after a transient failure, and body bytes received by the process; absent when nothing was asked of it.</summary>
    [JsonPropertyName("store_requests"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRequests { get; init; }
    [JsonPropertyName("store_retries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRetries { get; init; }
    [JsonPropertyName("bytes_fetched"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? BytesFetched { get; init; }

    /// <summary>The local shard cache (Data:CacheDir): objects served from an intact entry, objects fetched (or read directly for want of room), and the cache folder's bytes on disk; absent without a cache.</summary>
    [JsonPropertyName("cache_hits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheHits { get; init; }
    [JsonPropertyName("cache_misses"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheMisses { get; init; }
    [JsonPropertyName("cache_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheBytes { get; init; }
    [JsonPropertyName("views_per_sec")] public double ViewsPerSec { get; init; }
    [JsonPropertyName("batches")] public long Batches { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("decoder")] public string Decoder { get; init; } = "";
    [JsonPropertyName("alloc_bytes_per_image")] public double AllocBytesPerImage { get; init; }
    /// <summary>The process's CPU time (all threads: reader, workers, GC, consumer) over the window, per image: less swayed than images/s by other processes on a shared machine.</summary>
    [JsonPropertyName("cpu_ms_per_image")] public double CpuMillisecondsPerImage { get; init; }
    /// <summary>The process's CPU time over the window's wall time: the cores it got.</summary>
    [JsonPropertyName("cpu_cores")] public double CpuCores { get; init; }
    [JsonPropertyName("peak_working_set_mb")] public double PeakWorkingSetMb { get; init; }
    [JsonPropertyName("working_set_start_mb")] public double WorkingSetStartMb { get; init; }
    [JsonPropertyName("working_set_end_mb")] public double WorkingSetEndMb { get; init; }
    /// <summary>Working set every <see cref="SeriesIntervalSeconds"/> of the measured window.</summary>
    [JsonPropertyName("working_set_series_mb")] public List<double> WorkingSetSeriesMb { get; init; } = [];
    [JsonPropertyName("managed_heap_series_mb")] public List<double> ManagedHeapSeriesMb { get; init; } = [];
    [JsonPropertyName("series_interval_seconds")] public double SeriesIntervalSeconds { get; init; }
    [JsonPropertyName("stop_ms")] public double StopMilliseconds { get; init; }
    [JsonPropertyName("leases_out_after_stop")] public int LeasesOutAfterStop { get; init; }
    [JsonPropertyName("starvation")] public double Starvation { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("warmup_seconds")] public double WarmupSeconds { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("image_size")] public int ImageSize { get; init; }
    [JsonPropertyName("consumer_rate")] public double? ConsumerRate { get; init; }
    [JsonPropertyName("bad_samples")] public long BadSamples { get; init; }
    /// <summary>Bad samples per shard, for the shards that had any.</summary>
    [JsonPropertyName("bad_samples_by_shard")] public IReadOnlyDictionary<string, long> BadSamplesByShard { get; init; } = new Dictionary<string, long>();
    /// <summary>How mixed the batches were: distinct labels per batch against uniform sampling, the largest share from one read unit.</summary>
    [JsonPropertyName("batch_diversity"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DiversityResult? Diversity { get; init; }
    /// <summary>With --captions: the captions tokenized into the batches' token planes; null (not written) without.</summary>
    [JsonPropertyName("captions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public CaptionBenchResult? Captions { get; init; }
    [JsonPropertyName("bottleneck")] public string Bottleneck { get; init; } = "";
    [JsonPropertyName("stage_rates")] public Dictionary<string, double> StageRates { get; init; } = [];
}
