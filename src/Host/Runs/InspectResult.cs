using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What `contrastive inspect` reports about a dataset.</summary>
internal sealed record InspectResult
{
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    [JsonPropertyName("shards")] public int Shards { get; init; }
    [JsonPropertyName("samples")] public long Samples { get; init; }
    [JsonPropertyName("labels")] public int Labels { get; init; }
    [JsonPropertyName("columns")] public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();
    [JsonPropertyName("class_histogram")] public SortedDictionary<string, long> ClassHistogram { get; init; } = [];
    [JsonPropertyName("empty_samples")] public long EmptySamples { get; init; }
    /// <summary>Runs of one label in stored order against a random order's (labelled data).</summary>
    [JsonPropertyName("label_runs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public LabelRuns? LabelRuns { get; init; }

    /// <summary>Time-series data only: channels and the shortest and longest series.</summary>
    [JsonPropertyName("series")] public SeriesShape? Series { get; init; }
}
