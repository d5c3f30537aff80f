using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>Batch diversity as JSON: distinct labels per batch against uniform sampling, and the largest share from one read unit.</summary>
internal sealed record DiversityResult(
    [property: JsonPropertyName("batches")] long Batches,
    [property: JsonPropertyName("mean_distinct_labels")] double MeanDistinctLabels,
    [property: JsonPropertyName("uniform_distinct_labels")] double UniformDistinctLabels,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("largest_unit_share")] double LargestUnitShare)
{
    public static DiversityResult From(DiversityReport d) => new(d.Batches, Math.Round(d.MeanDistinctLabels, 3), Math.Round(d.UniformDistinctLabels, 3),
        Math.Round(d.Ratio, 4), Math.Round(d.MeanLargestUnitShare, 4));
}
