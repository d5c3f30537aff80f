using System.Text.Json.Serialization;

namespace Contrastive.Host;

/// <summary>Image↔text retrieval recall@k (<see cref="Contrastive.Training.Retrieval"/>) over <see cref="Samples"/> held-out pairs.</summary>
internal sealed record RetrievalResult(
    [property: JsonPropertyName("i2t_r1")] double ImageToTextR1,
    [property: JsonPropertyName("i2t_r5")] double ImageToTextR5,
    [property: JsonPropertyName("i2t_r10")] double ImageToTextR10,
    [property: JsonPropertyName("t2i_r1")] double TextToImageR1,
    [property: JsonPropertyName("t2i_r5")] double TextToImageR5,
    [property: JsonPropertyName("t2i_r10")] double TextToImageR10,
    [property: JsonPropertyName("samples")] long Samples)
{
    /// <summary>Recall@1, 5 and 10 both ways of normalised image and text embeddings of the same samples.</summary>
    public static RetrievalResult Of(TorchSharp.torch.Tensor images, TorchSharp.torch.Tensor texts)
    {
        var (i2t, t2i) = Contrastive.Training.Retrieval.Recall(images, texts, [1, 5, 10]);
        static double R(double x) => Math.Round(x, 4);
        return new(R(i2t[0]), R(i2t[1]), R(i2t[2]), R(t2i[0]), R(t2i[1]), R(t2i[2]), images.shape[0]);
    }
}
