using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>What `contrastive embed` wrote.</summary>
internal sealed record EmbedResult(
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("dims")] int Dims,
    [property: JsonPropertyName("out")] string Out)
{
    /// <summary>"images" or "text".</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "images";

    /// <summary>Samples left out: undecodable images (images), missing or blank captions (text).</summary>
    [JsonPropertyName("skipped")] public long Skipped { get; init; }
}
