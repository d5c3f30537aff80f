using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>Runs of one label in stored order: long runs mean the data is stored class by class.</summary>
internal sealed record LabelRuns(
    [property: JsonPropertyName("mean_length")] double MeanLength,
    [property: JsonPropertyName("longest")] long Longest,
    [property: JsonPropertyName("random_order_mean_length")] double RandomOrderMeanLength,
    [property: JsonPropertyName("looks_class_sorted")] bool LooksClassSorted);
