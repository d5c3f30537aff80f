using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>The figures a training run ends with; printed as one JSON object with --json.</summary>
public sealed record TrainResult
{
    [JsonPropertyName("steps")] public long Steps { get; init; }
    [JsonPropertyName("samples")] public long Samples { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("final_loss")] public double? FinalLoss { get; init; }
    [JsonPropertyName("knn_top1")] public double? KnnTop1 { get; init; }
    [JsonPropertyName("knn_top1_random_init")] public double? KnnTop1RandomInit { get; init; }
    [JsonPropertyName("checkpoint")] public string? Checkpoint { get; init; }
    [JsonPropertyName("bad_samples")] public long BadSamples { get; init; }
    /// <summary>Bad samples per shard, for the shards that had any.</summary>
    [JsonPropertyName("bad_samples_by_shard")] public IReadOnlyDictionary<string, long> BadSamplesByShard { get; init; } = new Dictionary<string, long>();
    [JsonPropertyName("resumed_from_step")] public long? ResumedFromStep { get; init; }
    [JsonPropertyName("interrupted")] public bool Interrupted { get; init; }
}
