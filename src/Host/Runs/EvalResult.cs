using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What `contrastive eval` reports; with --baselines, the same for a random-init encoder and for raw pixels.</summary>
internal sealed record EvalResult(
    [property: JsonPropertyName("knn_top1")] double KnnTop1,
    [property: JsonPropertyName("linear_top1")] double LinearTop1)
{
    [JsonPropertyName("knn_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? KnnTop1RandomInit { get; init; }
    [JsonPropertyName("linear_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LinearTop1RandomInit { get; init; }
    [JsonPropertyName("knn_top1_pixels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? KnnTop1Pixels { get; init; }
    [JsonPropertyName("linear_top1_pixels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LinearTop1Pixels { get; init; }
    [JsonPropertyName("train_samples")] public long TrainSamples { get; init; }
    [JsonPropertyName("test_samples")] public long TestSamples { get; init; }
}
