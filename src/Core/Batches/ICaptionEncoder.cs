namespace Contrastive.Core;

/// <summary>
/// Turns a caption (UTF-8 bytes, as it travels in a sample chunk) into one row of token ids of a batch's token plane
/// (<see cref="Batch.Tokens"/>). The input pipeline's workers call it for every sample when the run has text; the
/// implementation lives where the vocabulary does (Contrastive.Training's <c>CaptionTokenizer</c>) and must be safe to
/// call from several workers at once.
/// </summary>
public interface ICaptionEncoder
{
    /// <summary>Ids per row (the text context length).</summary>
    int Context { get; }

    /// <summary>The encoder's name (for logs and checkpoints, "gpt2-bpe").</summary>
    string Name { get; }

    /// <summary>
    /// Encodes <paramref name="utf8"/> into <paramref name="row"/> (exactly <see cref="Context"/> ids) and returns how many
    /// ids are not padding. Throws `SampleFormatException` (Augment) for a caption it cannot encode (a bad sample).
    /// </summary>
    int EncodeUtf8Into(ReadOnlySpan<byte> utf8, Span<int> row);
}
