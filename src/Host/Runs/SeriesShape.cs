using System.Text.Json.Serialization;
using Contrastive.Ingest;

namespace Contrastive.Host;

public sealed record SeriesShape(
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("min_length")] int MinLength,
    [property: JsonPropertyName("max_length")] int MaxLength);
