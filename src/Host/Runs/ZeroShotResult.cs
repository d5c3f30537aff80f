using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What `contrastive eval --zero-shot` reports; with --baselines, the same for the random-init towers.</summary>
internal sealed record ZeroShotResult(
    [property: JsonPropertyName("zero_shot_top1")] double Top1,
    [property: JsonPropertyName("zero_shot_top5")] double Top5)
{
    [JsonPropertyName("zero_shot_top1_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Top1RandomInit { get; init; }
    [JsonPropertyName("zero_shot_top5_random_init"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Top5RandomInit { get; init; }
    [JsonPropertyName("classes")] public int Classes { get; init; }
    [JsonPropertyName("templates")] public int Templates { get; init; }
    [JsonPropertyName("test_samples")] public long TestSamples { get; init; }
}
