using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>The figures a training run ends with; printed as one JSON object with --json.</summary>
internal sealed record TrainResult
{
    [JsonPropertyName("steps")] public long Steps { get; init; }
    [JsonPropertyName("samples")] public long Samples { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("final_loss")] public double? FinalLoss { get; init; }
    [JsonPropertyName("knn_top1")] public double? KnnTop1 { get; init; }
    [JsonPropertyName("knn_top1_random_init")] public double? KnnTop1RandomInit { get; init; }
    /// <summary>cpc: linear-probe top-1 on the held-out series, trained encoder and random-init encoder.</summary>
    /// <summary>Image-text methods: image↔text retrieval recall on held-out samples, trained and at random init.</summary>
    [JsonPropertyName("retrieval"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RetrievalResult? Retrieval { get; init; }
    [JsonPropertyName("retrieval_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RetrievalResult? RetrievalRandomInit { get; init; }
    [JsonPropertyName("probe_top1")] public double? ProbeTop1 { get; init; }
    [JsonPropertyName("probe_top1_random_init")] public double? ProbeTop1RandomInit { get; init; }
    /// <summary>cpc: prediction accuracy per step ahead (k = 1, 2, …), averaged over the last 20 steps (from <see cref="StepMetrics"/>).</summary>
    [JsonPropertyName("cpc_accuracy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? CpcAccuracy
    {
        get
        {
            if (StepMetrics is null) return null;
            var list = new List<double>();
            while (StepMetrics.TryGetValue($"cpc/accuracy_k{list.Count + 1}", out double a)) list.Add(a);
            return list.Count > 0 ? list : null;
        }
    }

    /// <summary>A method's own per-step figures (CPC's accuracy per step ahead), averaged over the last 20 steps.</summary>
    [JsonPropertyName("step_metrics"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? StepMetrics { get; init; }

    /// <summary>How mixed the batches trained on were.</summary>
    [JsonPropertyName("batch_diversity"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DiversityResult? Diversity { get; init; }

    /// <summary>Share of the training loop's wall time spent waiting for batches (0–1): near 1, the input pipeline is the bottleneck.</summary>
    [JsonPropertyName("input_bound")] public double InputBound { get; init; }

    /// <summary>Object storage (s3:// data or run folders): requests made, retried after a transient failure, and body bytes received by the process; absent when nothing was asked of it.</summary>
    [JsonPropertyName("store_requests"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRequests { get; init; }
    [JsonPropertyName("store_retries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StoreRetries { get; init; }
    [JsonPropertyName("bytes_fetched"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? BytesFetched { get; init; }

    /// <summary>The local shard cache (Data:CacheDir): objects served from an intact entry, objects fetched (or read directly for want of room), and the cache folder's bytes on disk; absent without a cache.</summary>
    [JsonPropertyName("cache_hits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheHits { get; init; }
    [JsonPropertyName("cache_misses"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheMisses { get; init; }
    [JsonPropertyName("cache_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheBytes { get; init; }

    /// <summary>Each epoch as this process read it (samples handed to the pipeline, seconds, object-storage traffic); the last one partial when training stopped inside it.</summary>
    [JsonPropertyName("epochs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<EpochRead>? Epochs { get; init; }

    /// <summary>
    /// Weighted sources (Data:Sources): per source, the samples in the batches this process trained on, the samples the run
    /// has taken from it up to its resume point (trained on, or skipped as bad, from the run's start, resumes included) and
    /// the epoch of its own it is in there.
    /// </summary>
    [JsonPropertyName("sources"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<SourceResult>? Sources { get; init; }

    /// <summary>Online evaluation (Evaluation:Every): its points, the seconds they took together, and the seconds spent decoding their images at the start.</summary>
    [JsonPropertyName("online_eval"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<OnlinePoint>? OnlineEval { get; init; }
    [JsonPropertyName("online_eval_seconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? OnlineEvalSeconds { get; init; }
    [JsonPropertyName("online_eval_prepare_seconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? OnlineEvalPrepareSeconds { get; init; }
    [JsonPropertyName("checkpoint")] public string? Checkpoint { get; init; }
    /// <summary>The run's report.html in its --out folder (null when nothing was written).</summary>
    [JsonPropertyName("report")] public string? Report { get; init; }
    [JsonPropertyName("bad_samples")] public long BadSamples { get; init; }
    /// <summary>Bad samples per shard, for the shards that had any.</summary>
    [JsonPropertyName("bad_samples_by_shard")] public IReadOnlyDictionary<string, long> BadSamplesByShard { get; init; } = new Dictionary<string, long>();
    [JsonPropertyName("resumed_from_step")] public long? ResumedFromStep { get; init; }
    [JsonPropertyName("interrupted")] public bool Interrupted { get; init; }
    /// <summary>Processes that trained the model together (1: one process).</summary>
    [JsonPropertyName("world_size")] public int WorldSize { get; init; } = 1;
    /// <summary>This process's rank (0 with one process).</summary>
    [JsonPropertyName("rank")] public int Rank { get; init; }
    /// <summary>Samples per optimizer step over all ranks.</summary>
    [JsonPropertyName("global_batch_size")] public int GlobalBatchSize { get; init; }
    /// <summary>SHA-256 of the trained parameters (16 hex digits): the same on every rank of a data-parallel run.</summary>
    [JsonPropertyName("parameter_checksum")] public string? ParameterChecksum { get; init; }
    /// <summary>Data-parallel runs: seconds this rank spent in gradient all-reduces.</summary>
    [JsonPropertyName("communication_seconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? CommunicationSeconds { get; init; }
}

/// <summary>
/// One weighted source's share of a run: its location, weight (normalised), the samples of it in the batches this process
/// trained on (<see cref="Trained"/>), the samples taken from it before the run's resume point (<see cref="Samples"/>: from
/// the run's start, resumes included; with --deterministic the samples trained) and the epoch of its own it is in there.
/// </summary>
internal sealed record SourceResult(
    [property: JsonPropertyName("uri")] string Uri,
    [property: JsonPropertyName("weight")] double Weight,
    [property: JsonPropertyName("trained")] long Trained,
    [property: JsonPropertyName("samples")] long Samples,
    [property: JsonPropertyName("epoch")] int Epoch)
{
    /// <summary>The sources of <paramref name="dataset"/> at <paramref name="cursor"/> with <paramref name="trained"/> (null when the data is not a weighted mix).</summary>
    public static IReadOnlyList<SourceResult>? Of(Contrastive.Ingest.IImageDataset dataset, Contrastive.Core.ReadCursor? cursor, IReadOnlyList<long>? trained) =>
        dataset is not Contrastive.Ingest.WeightedDataset mix ? null
            : [.. mix.Sources.Select((d, s) => new SourceResult(d.Uri, Math.Round(mix.Weights[s], 6), trained?[s] ?? 0, cursor?.Mix?.Picks[s] ?? 0, cursor?.Mix?.Sources[s].Epoch ?? 0))];
}
