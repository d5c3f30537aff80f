using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>`bench --captions`: what the workers wrote into the batches' token planes (every batch the consumer took, warm-up included).</summary>
internal sealed record CaptionBenchResult
{
    /// <summary>The tokenizer's name ("gpt2-bpe").</summary>
    [JsonPropertyName("tokenizer")] public string Tokenizer { get; init; } = "";
    /// <summary>Ids per token row (the text context length).</summary>
    [JsonPropertyName("context")] public int Context { get; init; }
    /// <summary>The caption column read (Parquet), or the format's caption source.</summary>
    [JsonPropertyName("column"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Column { get; init; }
    /// <summary>Captions tokenized into batches the consumer took.</summary>
    [JsonPropertyName("captions")] public long Captions { get; init; }
    /// <summary>Mean ids per row that are not padding: start token, caption tokens, end token.</summary>
    [JsonPropertyName("tokens_per_caption")] public double TokensPerCaption { get; init; }
    /// <summary>Share of rows filled to the context (the caption was as long as the context allows or was cut).</summary>
    [JsonPropertyName("full_row_share")] public double FullRowShare { get; init; }
}
