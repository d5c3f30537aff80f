using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What a pipeline was run with: the first line of pipeline.jsonl, and the report's settings.</summary>
internal sealed record ProfileHeader
{
    [JsonPropertyName("kind")] public string Kind { get; init; } = "header";
    [JsonPropertyName("command")] public string Command { get; init; } = "";
    [JsonPropertyName("started")] public DateTimeOffset Started { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("cores")] public int Cores { get; init; } = Environment.ProcessorCount;
    [JsonPropertyName("decoder")] public string Decoder { get; init; } = "";
    [JsonPropertyName("decode_scaling")] public bool DecodeScaling { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("image_size")] public int ImageSize { get; init; }
    [JsonPropertyName("views")] public int Views { get; init; }
    [JsonPropertyName("chunk_queue")] public int ChunkQueue { get; init; }
    [JsonPropertyName("prefetch")] public int Prefetch { get; init; }
    [JsonPropertyName("deterministic")] public bool Deterministic { get; init; }
    [JsonPropertyName("data")] public string Data { get; init; } = "";
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    /// <summary>bench: the simulated trainer's images/s (null: a null consumer). Unused for train.</summary>
    [JsonPropertyName("consumer_rate")] public double? ConsumerRate { get; init; }
    /// <summary>bench: seconds of warm-up before the measured window.</summary>
    [JsonPropertyName("warmup_seconds")] public double WarmupSeconds { get; init; }
    /// <summary>train: method and encoder, in words.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
}
