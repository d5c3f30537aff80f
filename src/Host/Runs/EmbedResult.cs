using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Contrastive.Batching;
using Contrastive.Ingest;
using Contrastive.Training;
using TorchSharp;

namespace Contrastive.Host;

/// <summary>What `contrastive embed` wrote.</summary>
public sealed record EmbedResult(
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("dims")] int Dims,
    [property: JsonPropertyName("out")] string Out)
{
    /// <summary>"images" or "text".</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "images";

    /// <summary>Samples left out: undecodable images (images), missing or blank captions (text).</summary>
    [JsonPropertyName("skipped")] public long Skipped { get; init; }
}
