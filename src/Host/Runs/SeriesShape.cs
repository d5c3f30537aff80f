using System.Text.Json.Serialization;

namespace Contrastive.Host;

internal sealed record SeriesShape(
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("min_length")] int MinLength,
    [property: JsonPropertyName("max_length")] int MaxLength);
