using static TorchSharp.torch;

namespace Contrastive.Training;

/// <summary>
/// A method with an image tower and a text tower that map into one embedding (CLIP): zero-shot classification, image-text
/// retrieval and `contrastive embed --text` use it. Embeddings are L2-normalised, on the CPU, without a graph.
/// </summary>
public interface IImageTextMethod
{
    /// <summary>The tokenizer the text tower was trained with (its name is in the checkpoint's options).</summary>
    Text.CaptionTokenizer Tokenizer { get; }

    /// <summary>Joint embeddings of a batch's first view, [Count, E].</summary>
    Tensor EmbedImages(Batch batch);

    /// <summary>Joint embeddings of token rows [n, L] (ids as <see cref="Text.CaptionTokenizer"/> writes them) with their lengths [n].</summary>
    Tensor EmbedTexts(Tensor tokens, Tensor lengths);
}
